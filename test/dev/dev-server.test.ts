import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, inject, it } from 'vitest';
import { canConnect } from '../../src/dev/free-port';
import { startDevServer } from '../../src/dev';
import { devServerForTests } from '../setup/database';

async function withClient<T>(address: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await fn(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

async function listIds(client: Client): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of client.workflow.list()) ids.push(wf.workflowId);
  return ids;
}

describe('startDevServer', () => {
  it('serves the default namespace to a client, and stops', async () => {
    expect(inject('temporalCliPath')).not.toBe(''); // provisioned by global setup
    const started = Date.now();
    const server = await devServerForTests();
    console.log(`dev server ready in ${Date.now() - started} ms`);
    const port = Number(server.address.split(':')[1]);
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(server.uiUrl).toBeUndefined();
      expect(await withClient(server.address, listIds)).toEqual([]);
    } finally {
      await server.stop();
    }
    expect(await canConnect(port)).toBe(false);
  });

  it('refuses a port that another server holds instead of handing that server out', async () => {
    const server = await devServerForTests();
    const port = Number(server.address.split(':')[1]);
    try {
      await expect(startDevServer({ port })).rejects.toThrow(`gRPC port ${port} is already in use`);
    } finally {
      await server.stop();
    }
  });

  it('keeps workflows in dbFile across a restart, and serves the UI when asked', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tidemark-dev-test-'));
    const dbFile = path.join(dir, 'nested', 'temporal.sqlite');
    try {
      const first = await startDevServer({ dbFile, ui: true });
      try {
        expect(first.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        const ui = await fetch(first.uiUrl as string);
        expect(ui.status).toBe(200);
        // No worker: the workflow just stays open, which is all we need to see it persisted.
        await withClient(first.address, (client) =>
          client.workflow.start('neverRuns', { taskQueue: 'nobody', workflowId: 'kept-across-restart' }),
        );
      } finally {
        await first.stop();
      }
      const second = await startDevServer({ dbFile });
      try {
        expect(await withClient(second.address, listIds)).toEqual(['kept-across-restart']);
      } finally {
        await second.stop();
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
