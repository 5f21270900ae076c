import { describe, expect, it } from 'vitest';
import { runCli, startCli, waitExit } from '../helpers/cli';

describe('tidemark mock-api', () => {
  it('serves the orders with the example config printed, and stops cleanly on SIGTERM', async () => {
    const api = await startCli(['mock-api', '--port', '0', '--records', '300', '--token', 't0k-123456', '--fail-rate', '0'], {}, /Ctrl-C to stop/);
    const url = /at (http:\/\/[\d.]+:\d+)/.exec(api.output())![1]!;
    expect(api.output()).toContain(`url: ${url}/v1/orders/window`);
    expect(api.output()).toContain('pagination: { style: time_window');
    expect(api.output()).toContain('Authorization: "Bearer ${MOCK_API_TOKEN}"');
    const unauthorized = await fetch(`${url}/v1/orders?limit=5`);
    expect(unauthorized.status).toBe(401);
    const res = await fetch(`${url}/v1/orders/pages?per_page=100&page=3`, { headers: { authorization: 'Bearer t0k-123456' } });
    expect(await res.json()).toMatchObject({ page: 3, per_page: 100, total: 300, total_pages: 3, data: expect.any(Array) });
    api.child.kill('SIGTERM');
    await waitExit(api.child);
    expect(api.child.exitCode).toBe(0);
    expect(api.output()).toMatch(/stopped after 2 requests/);
  });

  it('bad options exit non-zero naming the option', async () => {
    const [rate, port, sum] = await Promise.all([
      runCli(['mock-api', '--fail-rate', '1.5'], {}),
      runCli(['mock-api', '--port', '70000'], {}),
      runCli(['mock-api', '--fail-rate', '0.7', '--hang-rate', '0.5'], {}),
    ]);
    expect(rate.code).not.toBe(0);
    expect(rate.stderr).toContain("option '--fail-rate <r>' argument '1.5' is invalid. expected a fraction from 0 to 1");
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("option '--port <port>' argument '70000' is invalid. expected a port number from 0 to 65535");
    expect(sum.code).toBe(1);
    expect(sum.stderr).toMatch(/add up to 1\.2: together they must be at most 1/);
  });
});
