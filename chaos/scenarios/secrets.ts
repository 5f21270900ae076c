import { randomBytes } from 'node:crypto';
import { startMockApi, type MockApi } from '../../src/mock-api';
import { apiIntegration, ordersIntegration } from '../lib/configs';
import type { ChaosContext } from '../lib/context';
import { runScenario, type Harness } from '../lib/harness';
import { seedOrders } from '../lib/orders';
import type { ScenarioResult } from '../lib/report';
import { sql } from '../lib/sql';
import { failureMessages, payloadsIn, type HistoryEvent } from '../lib/temporal';

/**
 * secrets: runs whose config holds only ${NAME} references (a PostgreSQL URL with a password of its own,
 * the sink's default ${DATABASE_URL}, an API token), plus runs that fail because of a wrong password
 * and a wrong token. Afterwards the whole history of every run, the worker's output and every CLI
 * command's output are searched for each secret value: none may appear. Then the same with
 * TIDEMARK_ENCRYPTION_KEY: every payload in history is ciphertext, and nothing readable remains.
 */
export function secrets(ctx: ChaosContext): Promise<ScenarioResult> {
  const role = `chaos_secret_${randomBytes(3).toString('hex')}`;
  const password = `pw_${randomBytes(12).toString('hex')}`;
  let api: MockApi | undefined;
  const token = `tok_${randomBytes(16).toString('hex')}`;
  return runScenario(ctx, 'secrets', async (h) => {
    api = await startMockApi({ records: 500, seed: 3, token });
    await body(h, api, { role, password, token });
  })
    .finally(() => api?.close())
    .finally(() => sql(ctx.adminUrl, `DROP ROLE IF EXISTS ${role}`).catch(() => undefined));
}

interface Secrets {
  role: string;
  password: string;
  token: string;
}

async function body(h: Harness, api: MockApi, s: Secrets): Promise<void> {
  const { f } = h;
  await seedOrders(h.src.url, 3_000);
  // A login of its own, so the password is a value that appears nowhere else.
  await sql(h.ctx.adminUrl, `CREATE ROLE ${s.role} LOGIN SUPERUSER PASSWORD '${s.password}'`);
  const withLogin = (url: string, pw: string) => Object.assign(new URL(url), { username: s.role, password: pw }).toString();
  const wrongPassword = `pw_wrong_${randomBytes(8).toString('hex')}`;
  const wrongToken = `tok_wrong_${randomBytes(8).toString('hex')}`;
  const vars = {
    SRC_URL: withLogin(h.src.url, s.password),
    DATABASE_URL: withLogin(h.dst.url, s.password),
    DST_URL: withLogin(h.dst.url, s.password),
    BAD_SRC_URL: withLogin(h.src.url, wrongPassword),
    API_URL: api.url,
    API_TOKEN: s.token,
    WRONG_TOKEN: wrongToken,
  };
  Object.assign(h.ws.env, vars);
  const pg = ordersIntegration('secret-pg', { batchSize: 500 });
  delete (pg.sink as Record<string, unknown>).url; // the default: ${DATABASE_URL}
  h.ws.writeConfig({
    integrations: [
      pg,
      ordersIntegration('wrong-password', { srcVar: 'BAD_SRC_URL', target: 'copy.never' }),
      apiIntegration('secret-api', { style: 'cursor', target: 'api.orders', tokenVar: 'API_TOKEN' }),
      apiIntegration('wrong-token', { style: 'cursor', target: 'api.never', tokenVar: 'WRONG_TOKEN' }),
    ],
  });
  const values = [s.password, s.token, wrongPassword, wrongToken, vars.SRC_URL, vars.DST_URL, vars.BAD_SRC_URL];

  for (const encrypted of [false, true]) {
    if (encrypted) h.ws.env.TIDEMARK_ENCRYPTION_KEY = randomBytes(32).toString('base64');
    const worker = await h.ws.startWorker();
    const runs: Array<{ workflowId: string; runId: string }> = [];
    // `failing`: the reason the CLI must still print (decrypted when encrypted).
    const run = async (args: string[], failing?: RegExp) => {
      const r = await h.ws.cli(...args);
      const m = /started \w+ (\S+) \(run ([0-9a-f-]+)\)/.exec(r.stdout);
      if (m) runs.push({ workflowId: m[1] as string, runId: m[2] as string });
      if (failing) f.check(r.code === 1 && failing.test(r.stderr), `tidemark ${args.join(' ')}: exit ${r.code}, expected 1 and ${failing}: ${r.stderr.trim().slice(0, 200)}`);
      else f.check(r.code === 0, `tidemark ${args.join(' ')}: exit ${r.code} ${r.stderr.trim().slice(0, 200)}`);
    };
    await run(['backfill', 'secret-pg', '--wait']);
    await run(['sync', 'secret-pg', '--wait']);
    await run(['backfill', 'secret-api', '--wait']);
    await run(['backfill', 'wrong-password', '--wait'], /password authentication failed/);
    await run(['backfill', 'wrong-token', '--wait'], /401/);
    for (const cmd of [['status', 'secret-pg'], ['runs', 'secret-pg'], ['runs', 'wrong-token']]) await h.ws.cli(...cmd);
    await worker.terminate();
    f.add({ runs: runs.length });

    const raw = { events: [] as HistoryEvent[], text: '' };
    for (const r of runs) {
      const history = await h.client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
      raw.events.push(...(history.events ?? []));
      raw.text += JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    }
    const where = encrypted ? 'with TIDEMARK_ENCRYPTION_KEY' : 'without encryption';
    const places = { history: raw.text, 'worker output': h.ws.workers.map((w) => w.output).join('\n'), 'CLI output': h.ws.cliOutput.join('\n') };
    for (const [place, text] of Object.entries(places)) {
      const found = values.filter((v) => text.includes(v) || text.includes(encodeURIComponent(v)));
      f.check(found.length === 0, `${where}: ${found.length} secret value(s) found in the ${place}`);
    }
    // Workflow ids are metadata (never encrypted); payloads such as the input {"integration": …} are.
    const payloads = payloadsIn(raw.events);
    const readable = payloads.some((p) => Buffer.from(p.data ?? []).toString('latin1').includes('"integration"'));
    f.check(readable !== encrypted, `${where}: payload text is ${encrypted ? 'readable' : 'not readable'} in history`);
    const encoding = (p: (typeof payloads)[number]) => Buffer.from(p.metadata?.encoding ?? []).toString();
    if (encrypted) {
      const plain = payloads.filter((p) => encoding(p) !== 'binary/encrypted');
      f.check(plain.length === 0, `${where}: ${plain.length} of ${payloads.length} payloads are not encrypted (${[...new Set(plain.map(encoding))].join(', ')})`);
      // Failure messages are not payloads: the default failure converter keeps them as text.
      const messages = failureMessages(raw.events).filter((m) => m !== 'Encoded failure');
      f.check(messages.length === 0, `${where}: ${messages.length} failure message(s) in history are plain text, e.g. ${JSON.stringify(messages[0] ?? '').slice(0, 160)}`);
      f.detail(`${where}: ${payloads.length} payloads, all binary/encrypted; ${messages.length} plain-text failure message(s); no secret in history, worker or CLI output`);
    } else {
      f.detail(`${where}: ${runs.length} runs (2 failing on a wrong password / token), ${payloads.length} payloads; none of ${values.length} secret values in history (${raw.text.length} chars), worker output or CLI output`);
    }
  }
}
