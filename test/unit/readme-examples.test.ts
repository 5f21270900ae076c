import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

// The README's TypeScript examples, type-checked (strict) against tidemark's own types, as a user's project compiles
// them: an acceptance run found the custom sink's example did not compile (the Sink type required `kind`).
const ROOT = join(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'tm-readme-ts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The README's ```ts blocks, in order. */
function tsBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
}

/** Free names the snippets use as a user's code would have them (their app's objects, vitest's globals). */
const DECLARE: Record<string, string> = {
  addInstance: 'declare const customer: { slug: string; subdomain: string };\ndeclare const oauth: { accessToken: string };\n',
  createTestKit: 'declare function afterAll(fn: () => unknown): void;\n',
};

describe("the README's TypeScript examples", () => {
  it('type-check (strict) against the package exports', async () => {
    const blocks = tsBlocks();
    // A block that imports nothing continues the one before it (the kit's instance calls use its `kit`).
    const files: string[][] = [];
    for (const b of blocks) {
      if (/^import /m.test(b) || !files.length) files.push([b]);
      else files[files.length - 1]!.push(b);
    }
    expect(files.length).toBeGreaterThanOrEqual(5);
    const names = files.map((parts, i) => {
      const text = parts.join('\n');
      const prefix = Object.entries(DECLARE)
        .filter(([k]) => text.includes(k))
        .map(([, d]) => d)
        .join('');
      const name = join(dir, `example-${i}.ts`);
      writeFileSync(name, `${prefix}${text}\nexport {};\n`);
      return name;
    });
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['ES2022', 'DOM'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          esModuleInterop: true,
          paths: { tidemark: [join(ROOT, 'src', 'index.ts')], 'tidemark/testing': [join(ROOT, 'src', 'testing', 'index.ts')] },
        },
        files: names,
      }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const out = await promisify(execFile)(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { cwd: ROOT }).then(
      () => '',
      (err: { stdout?: string; message: string }) => err.stdout || err.message,
    );
    expect(out).toBe('');
  }, 120_000);
});
