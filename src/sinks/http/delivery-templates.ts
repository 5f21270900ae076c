import jsonata from 'jsonata';
import type { HttpSinkConfig } from '../../config/http-sink-schema';
import { fieldsRead } from '../../config/jsonata-fields';
import { dotSegmentOf } from '../../util/dot-segments';
import { HttpSinkSetupError } from './http-sink-errors';

type Compiled = ReturnType<typeof jsonata>;

/** One record to deliver, with its identity and version. */
export interface Delivery {
  record: Record<string, unknown>;
  recordKey: string;
  contentHash: string;
  idempotencyKey: string;
  /** a dead-letter retry: the id of the letter this record comes from (see idempotencyKeyOf) */
  resend?: string;
}

/** A built request, or why this record's request could not be built (it becomes a dead letter). */
export type Built = { ok: true; url: URL; body?: string } | { ok: false; reason: string };

/**
 * `sink.path` and `sink.body` compiled once per run. Per record, the expressions read the record's
 * fields directly (`'/' & id`) or via $record, plus $key (the key fields) and $idempotencyKey; with bulk,
 * $records, $keys and $idempotencyKeys hold the request's records. The path is appended to sink.url's path.
 */
export class DeliveryTemplates {
  private readonly path?: Compiled;
  private readonly body?: Compiled;
  private readonly bulk: boolean;

  constructor(
    private readonly cfg: Pick<HttpSinkConfig, 'path' | 'body' | 'bulk' | 'method' | 'key'>,
    private readonly base: URL,
  ) {
    if (cfg.path !== undefined) this.path = jsonata(cfg.path);
    if (cfg.body !== undefined) this.body = jsonata(cfg.body);
    this.bulk = cfg.bulk !== 'per-record';
  }

  /** Before the first page: every field a template reads must be one of the records' (a typo fails the run, not each record). */
  checkFields(fields: readonly string[]): void {
    const known = new Set(fields);
    for (const name of ['path', 'body'] as const) {
      const text = this.cfg[name];
      if (text === undefined) continue;
      const unknown = fieldsRead(text, this.bulk).filter((f) => !known.has(f));
      if (unknown.length) throw new HttpSinkSetupError(name, `reads ${unknown.map((f) => `"${f}"`).join(', ')}, which the mapped records do not have (they have ${fields.join(', ')}): fix the template or the mapping`);
    }
  }

  async forRecord(d: Delivery): Promise<Built> {
    const key = Object.fromEntries(this.cfg.key.map((k) => [k, d.record[k] ?? null]));
    const vars = { record: d.record, key, idempotencyKey: d.idempotencyKey };
    return this.build(d.record, vars, () => (this.cfg.method === 'DELETE' ? undefined : d.record));
  }

  async forBatch(batch: readonly Delivery[], idempotencyKey: string): Promise<Built> {
    const records = batch.map((d) => d.record);
    const vars = { records, keys: batch.map((d) => Object.fromEntries(this.cfg.key.map((k) => [k, d.record[k] ?? null]))), idempotencyKeys: batch.map((d) => d.idempotencyKey), idempotencyKey };
    return this.build({}, vars, () => records);
  }

  private async build(input: unknown, vars: Record<string, unknown>, defaultBody: () => unknown): Promise<Built> {
    const url = new URL(this.base);
    if (this.path) {
      const p = await evaluate(this.path, input, vars);
      if (!p.ok) return { ok: false, reason: `sink.path failed: ${p.reason}` };
      if (typeof p.value !== 'string' && typeof p.value !== 'number') return { ok: false, reason: `sink.path evaluated to ${JSON.stringify(p.value)}, not a path` };
      const path = String(p.value);
      // A record's value stays inside sink.url's path: no `..` to another tenant's prefix or another endpoint.
      const dots = dotSegmentOf(path);
      const refused = { ok: false as const, reason: `sink.path evaluated to ${JSON.stringify(path)}, whose segment "${dots ?? path}" would leave sink.url's path: a record's value cannot choose another path` };
      if (dots !== undefined) return refused;
      const under = url.pathname.replace(/\/+$/, '');
      url.pathname = `${under}${path.startsWith('/') ? '' : '/'}${path}`;
      if (!url.pathname.startsWith(`${under}/`)) return refused; // whatever the parser made of it, it stays below
    }
    let body: unknown;
    if (this.body) {
      const b = await evaluate(this.body, input, vars);
      if (!b.ok) return { ok: false, reason: `sink.body failed: ${b.reason}` };
      body = b.value;
    } else body = defaultBody();
    return body === undefined ? { ok: true, url } : { ok: true, url, body: JSON.stringify(body) };
  }
}

async function evaluate(e: Compiled, input: unknown, vars: Record<string, unknown>): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  try {
    return { ok: true, value: (await e.evaluate(input, vars)) as unknown };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}
