import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/activities';
import { AesGcmCodec, dataConverterFromEnv, parseKey } from '../../src/codec/aes-gcm-codec';
import { ordersConfig, seedOrders, sql } from '../helpers/fixtures';
import { testWorker, uniqueQueue } from '../helpers/temporal';
import { createTestDatabase, timeSkippingEnv, type TestDatabase } from '../setup/database';

let env: TestWorkflowEnvironment;
let src: TestDatabase;
let dst: TestDatabase;

beforeAll(async () => {
  [env, src, dst] = await Promise.all([timeSkippingEnv(), createTestDatabase('sec_src'), createTestDatabase('sec_dst')]);
  await seedOrders(src.url, { rows: 1500 });
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([src?.drop(), dst?.drop()]);
});

/** The history as text, with payload bytes (base64 in the JSON form) decoded so they can be searched. */
async function historyText(workflowId: string): Promise<string> {
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const bytes = new Set(['data', 'encoding', 'encryption-key-id']);
  return JSON.stringify(history, (k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
    return typeof v === 'string' && bytes.has(k) ? Buffer.from(v, 'base64').toString('latin1') : v;
  });
}

describe('secrets and encryption at rest', () => {
  it('${ENV} secrets never reach workflow history', async () => {
    const taskQueue = uniqueQueue('secrets');
    const w = await testWorker(env, taskQueue, ordersConfig(), { SRC_URL: src.url, DST_URL: dst.url });
    await w.runUntil(env.client.workflow.execute('backfillWorkflow', { taskQueue, workflowId: 'secrets-1', args: [{ integration: 'orders' }] }));
    const text = await historyText('secrets-1');
    expect(text).toContain('orders'); // the history is readable…
    for (const secret of [src.url, dst.url, new URL(src.url).password + '@', new URL(src.url).host]) expect(text).not.toContain(secret); // …without secrets
  });

  it('with TIDEMARK_ENCRYPTION_KEY, inputs, results and cursors in history are ciphertext', async () => {
    const key = randomBytes(32).toString('base64');
    const vars = { SRC_URL: src.url, DST_URL: dst.url, TIDEMARK_ENCRYPTION_KEY: key };
    await sql(dst.url, 'DROP SCHEMA IF EXISTS copy CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
    const taskQueue = uniqueQueue('enc');
    const w = await testWorker(env, taskQueue, ordersConfig(), vars);
    const client = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: dataConverterFromEnv(vars) });
    const r = (await w.runUntil(client.workflow.execute('backfillWorkflow', { taskQueue, workflowId: 'enc-1', args: [{ integration: 'orders' }] }))) as RunResult;
    expect(r).toMatchObject({ rows: 1500, done: true });
    const text = await historyText('enc-1');
    expect(text).toContain('binary/encrypted');
    expect(text).not.toContain('"integration"');
    expect(text).not.toContain(String(r.cursor?.[0 as never]).slice(0, 19));
    // A client without the key sees only ciphertext; with a wrong key it gets a clear error.
    const wrong = new AesGcmCodec(parseKey(randomBytes(32).toString('hex')));
    const history = await env.client.workflow.getHandle('enc-1').fetchHistory();
    const payload = history.events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    await expect(wrong.decode([payload])).rejects.toThrow(/encrypted with key [0-9a-f]{16}, but TIDEMARK_ENCRYPTION_KEY is key/);
    const [plain] = await new AesGcmCodec(parseKey(key)).decode([payload]);
    expect(JSON.parse(Buffer.from(plain!.data!).toString())).toEqual({ integration: 'orders' });
    expect(() => parseKey('too-short')).toThrow(/32 bytes/);
  });
});
