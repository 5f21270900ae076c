import { boundedMap } from './bounded-map';
import { bulkIdempotencyKeyOf } from './delivery-keys';
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
  signal?: AbortSignal;
  onIdle?: () => void;
}

/**
 * Sends a page's changed records, at most `concurrency` requests in flight. Returns only when every
 * record is delivered or refused; any other outcome (retries used up, a status that is not the record's
 * fault, cancellation) aborts the requests in flight and throws once they have settled, so the caller's transaction
 * rolls back and the page is sent again later with the same keys. A bulk request refused as a whole is
 * split in halves until the refused records are found; the others are delivered in the smaller requests.
 */
export async function deliverPage(items: readonly Delivery[], e: DeliveryEngine): Promise<PageDeliveryResult> {
  const out: PageDeliveryResult = { delivered: [], refused: [] };
  const units: Delivery[][] = e.bulkSize === undefined ? items.map((d) => [d]) : chunk(items, e.bulkSize);
  // The first failure decides the page: the requests still retrying are aborted rather than waited for.
  const stop = new AbortController();
  const engine = { ...e, signal: e.signal ? AbortSignal.any([e.signal, stop.signal]) : stop.signal };
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

async function sendUnit(unit: Delivery[], e: DeliveryEngine, out: PageDeliveryResult): Promise<void> {
  const single = e.bulkSize === undefined;
  const first = unit[0] as Delivery;
  const key = single ? first.idempotencyKey : bulkIdempotencyKeyOf(unit.map((d) => d.idempotencyKey));
  const built: Built = single ? await e.templates.forRecord(first) : await e.templates.forBatch(unit, key);
  if (!built.ok) {
    if (unit.length === 1) out.refused.push({ delivery: first, reason: built.reason });
    else await splitAndSend(unit, e, out); // one record's template failure must not refuse its neighbours
    return;
  }
  const outcome: DeliveryOutcome = await e.client.send({ method: e.method, url: built.url, body: built.body, idempotencyKey: key }, { signal: e.signal, onIdle: e.onIdle });
  if (outcome.ok) {
    out.delivered.push(...unit);
    return;
  }
  if (unit.length === 1) {
    out.refused.push({ delivery: first, reason: `${e.method} ${built.url.pathname} → ${outcome.status}${outcome.body ? `: ${outcome.body.slice(0, 300)}` : ''}`, status: outcome.status, body: outcome.body });
    return;
  }
  await splitAndSend(unit, e, out);
}

/** Halves, one after the other (the unit holds its concurrency slot): log2(size) extra requests per refused record. */
async function splitAndSend(unit: Delivery[], e: DeliveryEngine, out: PageDeliveryResult): Promise<void> {
  const mid = Math.ceil(unit.length / 2);
  for (const half of [unit.slice(0, mid), unit.slice(mid)]) if (half.length) await sendUnit(half, e, out);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
