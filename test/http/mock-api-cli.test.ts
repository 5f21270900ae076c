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

  it('--max-page-size caps every answer silently (no has-more hints) and counts the answers it cut', async () => {
    const api = await startCli(['mock-api', '--port', '0', '--records', '300', '--max-page-size', '40'], {}, /Ctrl-C to stop/);
    const url = /at (http:\/\/[\d.]+:\d+)/.exec(api.output())![1]!;
    expect(api.output()).toContain('pages silently capped at 40 records, no has-more hints');
    const body = (await (await fetch(`${url}/v1/orders/pages?per_page=100&page=2`)).json()) as Record<string, unknown>;
    expect((body.data as Array<{ id: number }>).map((o) => o.id)).toEqual(Array.from({ length: 40 }, (_, i) => 41 + i));
    expect(Object.keys(body).sort()).toEqual(['data', 'page']);
    const window = (await (await fetch(`${url}/v1/orders/window?limit=10&from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z`)).json()) as Record<string, unknown>;
    expect(window).toEqual({ data: expect.any(Array) });
    expect((window.data as unknown[]).length).toBe(10); // under the cap: what was asked
    api.child.kill('SIGTERM');
    await waitExit(api.child);
    expect(api.child.exitCode).toBe(0);
    expect(api.output()).toMatch(/stopped after 2 requests \(2 pages served, 0 faults injected, 1 cut by the page cap\)/);
  });

  it('bad options exit non-zero naming the option', async () => {
    const [rate, port, sum, cap] = await Promise.all([
      runCli(['mock-api', '--fail-rate', '1.5'], {}),
      runCli(['mock-api', '--port', '70000'], {}),
      runCli(['mock-api', '--fail-rate', '0.7', '--hang-rate', '0.5'], {}),
      runCli(['mock-api', '--max-page-size', '0'], {}),
    ]);
    expect(cap.code).not.toBe(0);
    expect(cap.stderr).toContain("option '--max-page-size <n>' argument '0' is invalid. expected a whole number of records from 1");
    expect(rate.code).not.toBe(0);
    expect(rate.stderr).toContain("option '--fail-rate <r>' argument '1.5' is invalid. expected a fraction from 0 to 1");
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("option '--port <port>' argument '70000' is invalid. expected a port number from 0 to 65535");
    expect(sum.code).toBe(1);
    expect(sum.stderr).toMatch(/add up to 1\.2: together they must be at most 1/);
  });
});
