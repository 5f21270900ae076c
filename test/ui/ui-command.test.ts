import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerUi } from '../../src/cli/ui-command';
import { UiTokenRequiredError, WeakUiTokenError } from '../../src/ui/security';

/** `tidemark ui …` through the command's own registration (the lead adds it to src/cli/commands.ts). */
function run(args: string[]): Promise<unknown> {
  const program = new Command().exitOverride().option('--config <file>');
  registerUi(program);
  return program.parseAsync(['node', 'tidemark', 'ui', ...args]);
}

describe('tidemark ui (command)', () => {
  it('refuses to bind beyond localhost without TIDEMARK_UI_TOKEN, before loading the config or connecting', async () => {
    const saved = process.env.TIDEMARK_UI_TOKEN;
    delete process.env.TIDEMARK_UI_TOKEN;
    try {
      await expect(run(['--host', '0.0.0.0', '--config', '/nonexistent/tidemark.yaml'])).rejects.toThrow(UiTokenRequiredError);
      process.env.TIDEMARK_UI_TOKEN = 'short';
      await expect(run(['--host', '0.0.0.0', '--config', '/nonexistent/tidemark.yaml'])).rejects.toThrow(WeakUiTokenError);
    } finally {
      if (saved === undefined) delete process.env.TIDEMARK_UI_TOKEN;
      else process.env.TIDEMARK_UI_TOKEN = saved;
    }
  });
});
