import http from 'node:http';
import https from 'node:https';

/**
 * One HTTP exchange on node:http with keep-alive agents. Not fetch: a sink sends one small request per
 * record, and fetch's web streams cost about 3× the CPU per request (bench/results/http-sink.md), which
 * at 32 in flight is what bounded deliveries per second. Redirects are not followed (a record sent to
 * another URL is the caller's decision) and the body is read whole.
 */
export interface TransportResponse {
  status: number;
  statusText: string;
  /** as fetch's Headers, built only when asked (the answer is not a success) */
  headers(): Headers;
  text: string;
}

/** The request outlived its time budget (connect, headers and body). */
export class TransportTimeoutError extends Error {
  override readonly name = 'TransportTimeoutError';
}

const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

export function send(url: URL, o: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; signal?: AbortSignal }): Promise<TransportResponse> {
  return new Promise<TransportResponse>((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const headers = o.body === undefined ? o.headers : { ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) };
    let settled = false;
    const done = (err: Error | undefined, res?: TransportResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(res as TransportResponse);
    };
    const req = (secure ? https : http).request(url, { method: o.method, headers, agent: secure ? agents.https : agents.http }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        done(undefined, {
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? '',
          text: Buffer.concat(chunks).toString('utf8'),
          headers: () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
            return h;
          },
        }),
      );
      res.on('error', (e) => done(e));
      res.on('close', () => done(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' })));
    });
    const onAbort = () => {
      done(o.signal?.reason instanceof Error ? o.signal.reason : new Error('aborted'));
      req.destroy();
    };
    const timer = setTimeout(() => {
      done(new TransportTimeoutError(`no complete response within ${o.timeoutMs}ms`));
      req.destroy();
    }, o.timeoutMs);
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (e) => done(e));
    req.end(o.body);
  });
}
