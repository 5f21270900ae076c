import { boundedMap } from './bounded-map';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { BulkResults } from './bulk-results';
import { bulkIdempotencyKeyOf } from './delivery-keys';
import { DeliveryRetriesExhaustedError } from './http-sink-errors';
import type { DeliveryClient, DeliveryOutcome } from './delivery-client';
import type { Built, Delivery, DeliveryTemplates } from './delivery-templates';

export interface Refusal {
  delivery: Delivery;
  reason: string;
  status?: number;
  body?: string;
}

export interface PageDeliveryResult {
  /** accepted by the API (2xx): their ledger rows go into the page's transaction */
  delivered: Delivery[];
  /** refused (a dead-letter status, or no request could be built): their dead letters go into it */
  refused: Refusal[];
}

export interface DeliveryEngine {
  client: DeliveryClient;
  templates: DeliveryTemplates;
  method: string;
  concurrency: number;
  /** records per request; undefined = one request per record */
  bulkSize?: number;
  /** statuses besides 2xx that count as done (a DELETE's 404 / 410: the record is not there) */
  accept?: readonly number[];
  /** sink.bulk.results: an accepted bulk answer says per record whether it was applied */
  results?: BulkResults;
  signal?: AbortSignal;
  onIdle?: () => void;
}

/**
 * Sends a page's changed records, at most `concurrency` requests in flight. Returns only when every
 * record is delivered or refused; any other outcome (retries used up, a status that is not the record's
 * fault, cancellation) aborts the requests in flight and throws once they have settled, so the caller's transaction
 * rolls back and the page is sent again later with the same keys. A bulk request refused as a whole is
 * split in halves until the refused records are found; the others are delivered in the smaller requests.
 * With `results` (sink.bulk.results), an accepted bulk answer says per record what happened instead.
 */
export async function deliverPage(items: readonly Delivery[], e: DeliveryEngine): Promise<PageDeliveryResult> {
  const out: PageDeliveryResult = { delivered: [], refused: [] };
  const units: Delivery[][] = e.bulkSize === undefined ? items.map((d) => [d]) : chunk(items, e.bulkSize);
  // The first failure decides the page: the requests still retrying are aborted rather than waited for.
  const stop = new AbortController();
  const signal = e.signal ? AbortSignal.any([e.signal, stop.signal]) : stop.signal;
  // Every request in flight (and every wait for the limiter or a backoff) listens to it: not a leak.
  setMaxListeners(4 * e.concurrency + 10, signal);
  const engine = { ...e, signal, attempt: randomUUID() };
  await boundedMap(units, e.concurrency, async (unit) => {
    try {
      await sendUnit(unit, engine, out);
    } catch (err) {
      stop.abort();
      throw err;
    }
  });
  return out;
}

type Engine = DeliveryEngine & { attempt: string };

/** `round` > 0: the items a bulk answer did not apply, sent again (with a key of this page attempt's own). */
async function sendUnit(unit: Delivery[], e: Engine, out: PageDeliveryResult, round = 0): Promise<void> {
  const single = e.bulkSize === undefined;
  const first = unit[0] as Delivery;
  const key = single ? first.idempotencyKey : bulkIdempotencyKeyOf(unit.map((d) => d.idempotencyKey), round ? `${e.attempt}/${round}` : undefined);
  const built: Built = single ? await e.templates.forRecord(first) : await e.templates.forBatch(unit, key);
  if (!built.ok) {
    if (unit.length === 1) out.refused.push({ delivery: first, reason: built.reason });
    else await splitAndSend(unit, e, out); // one record's template failure must not refuse its neighbours
    return;
  }
  const wantBody = !single && e.results !== undefined;
  const outcome: DeliveryOutcome = await e.client.send({ method: e.method, url: built.url, body: built.body, idempotencyKey: key, wantBody, ...(e.accept ? { accept: e.accept } : {}) }, { signal: e.signal, onIdle: e.onIdle });
  if (outcome.ok && wantBody) return await sortItems(unit, outcome, built.url, e, out, round);
  if (outcome.ok) {
    out.delivered.push(...unit);
    return;
  }
  if (unit.length === 1) {
    out.refused.push({ delivery: first, reason: `${e.method} ${e.client.redact(built.url.pathname)} → ${outcome.status}${outcome.body ? `: ${outcome.body.slice(0, 300)}` : ''}`, status: outcome.status, body: outcome.body });
    return;
  }
  await splitAndSend(unit, e, out);
}

/**
 * Per-item results of an accepted bulk answer: 2xx items are delivered, dead-letter statuses refused with
 * their item's message, and the others (an item's 429 / 5xx) sent again after a backoff, up to sink.retries rounds.
 */
async function sortItems(unit: Delivery[], outcome: { status: number; body?: string }, url: URL, e: Engine, out: PageDeliveryResult, round: number): Promise<void> {
  const where = `${e.method} ${e.client.redact(url.pathname)}`;
  const items = await (e.results as BulkResults).read(outcome.body ?? '', outcome.status, unit.map((d) => d.record), where);
  const again: Delivery[] = [];
  let last = '';
  items.forEach((item, i) => {
    const d = unit[i] as Delivery;
    const message = item.message === undefined ? undefined : e.client.redact(item.message.slice(0, 2000));
    if (item.status >= 200 && item.status < 300) out.delivered.push(d);
    else if (e.client.deadLetterStatuses.includes(item.status)) {
      out.refused.push({ delivery: d, reason: `${where} → item ${i}: ${item.status}${message ? `: ${message.slice(0, 300)}` : ''}`, status: item.status, ...(message !== undefined ? { body: message } : {}) });
    } else {
      again.push(d);
      last = `item status ${item.status}${message ? `: ${message.slice(0, 200)}` : ''}`;
    }
  });
  if (!again.length) return;
  if (round >= e.client.retries) throw new DeliveryRetriesExhaustedError(e.method, e.client.redact(url.pathname), round + 1, `${again.length} item(s) not applied, last ${last}`);
  await e.client.pause(round, { signal: e.signal, onIdle: e.onIdle }, `${e.method} ${e.client.redact(url.pathname)}: ${again.length} item(s) of a bulk answer not applied (last ${last})`);
  await sendUnit(again, e, out, round + 1);
}

/** Halves, one after the other (the unit holds its concurrency slot): log2(size) extra requests per refused record. */
async function splitAndSend(unit: Delivery[], e: Engine, out: PageDeliveryResult): Promise<void> {
  const mid = Math.ceil(unit.length / 2);
  for (const half of [unit.slice(0, mid), unit.slice(mid)]) if (half.length) await sendUnit(half, e, out);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
