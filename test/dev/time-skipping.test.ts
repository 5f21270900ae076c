import { describe, expect, inject, it } from 'vitest';
import { timeSkippingEnv } from '../setup/database';

describe('time-skipping test server', () => {
  it('starts from the installed wrapper and skips a day at once', async () => {
    expect(inject('testServerPath')).toMatch(/temporal-test-server$/); // provisioned by global setup
    const started = Date.now();
    const env = await timeSkippingEnv();
    console.log(`time-skipping env ready in ${Date.now() - started} ms`);
    try {
      expect(env.supportsTimeSkipping).toBe(true);
      const before = await env.currentTimeMs();
      const wallStart = Date.now();
      await env.sleep('1 day');
      expect(Date.now() - wallStart).toBeLessThan(10_000);
      expect((await env.currentTimeMs()) - before).toBeGreaterThanOrEqual(24 * 3600_000);
    } finally {
      await env.teardown();
    }
  });
});
