import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { isLoopback } from '../ui/security';

/**
 * The Temporal codec-server protocol (what the Web UI and `temporal --codec-endpoint` call):
 * POST /encode and POST /decode with `{ "payloads": [{ "metadata": { k: base64 }, "data": base64 }] }`,
 * answered in the same shape. Lets the UI show workflow inputs, results and heartbeat details in
 * clear text while Temporal itself stores only ciphertext.
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Browser origins allowed to call (the Temporal UI's address); others get no CORS headers. */
  origins: readonly string[];
  /** When set, requests need `Authorization: Bearer <token>`; when not, only loopback Host names are served. */
  token?: string;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes?: number;
}

const jsonPayload = z.strictObject({
  metadata: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
});
const body = z.strictObject({ payloads: z.array(jsonPayload) });
type JsonPayload = z.infer<typeof jsonPayload>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The same minimum as TIDEMARK_UI_TOKEN's (WeakUiTokenError): the codec token guards the key as much. */
export const MIN_CODEC_TOKEN_LENGTH = 16;

/** Refused before listening: without a token, anyone who reaches the port could decode, and forge ciphertext. */
export function checkCodecBinding(host: string, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new Error(`TIDEMARK_CODEC_TOKEN is ${token.length} characters long: use at least ${MIN_CODEC_TOKEN_LENGTH} (e.g. \`openssl rand -hex 24\`)`);
  }
  if (!isLoopback(host) && !token) {
    throw new Error(
      `tidemark codec-server: binding to ${host} lets other machines decode and encode with TIDEMARK_ENCRYPTION_KEY: set TIDEMARK_CODEC_TOKEN to a long random secret (at least ${MIN_CODEC_TOKEN_LENGTH} characters; callers then send "Authorization: Bearer <token>"), or drop --host to bind to 127.0.0.1`,
    );
  }
}

/** The Host header without its port ("[::1]:8888" → "[::1]"), as tidemark ui's loopbackHostOnly reads it. */
const hostName = (req: IncomingMessage): string => (req.headers.host ?? '').replace(/:\d+$/, '');

export function createCodecServer(opts: CodecServerOptions): Server {
  const maxBody = opts.maxBodyBytes ?? 16 * 1024 * 1024;
  return createServer((req, res) => {
    handle(req, res, opts, maxBody).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      send(res, status, { error: err instanceof Error ? err.message : String(err) });
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: CodecServerOptions, maxBody: number): Promise<void> {
  // Without a token, a web page whose own name resolves to 127.0.0.1 (DNS rebinding) must not reach us.
  if (!opts.token && !isLoopback(hostName(req))) {
    throw new HttpError(403, `Host "${hostName(req)}" refused: without TIDEMARK_CODEC_TOKEN only localhost names are served`);
  }
  const origin = req.headers.origin;
  if (origin && opts.origins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, X-Namespace');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Vary', 'Origin');
  }
  // Preflights carry no credentials: answer them before the token check.
  if (req.method === 'OPTIONS') return void res.writeHead(204).end();
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/encode' && path !== '/decode') throw new HttpError(404, `no such endpoint ${path}: use POST /encode or POST /decode`);
  if (req.method !== 'POST') throw new HttpError(405, `${req.method} ${path}: use POST`);
  if (opts.token && !bearerMatches(req.headers.authorization, opts.token)) throw new HttpError(401, 'missing or wrong bearer token');
  const parsed = body.safeParse(await readJson(req, maxBody));
  if (!parsed.success) throw new HttpError(400, `body must be { "payloads": [{ "metadata": {…base64}, "data": base64 }] }: ${parsed.error.issues[0]?.message ?? ''}`);
  const input = parsed.data.payloads.map(fromJson);
  let output: Payload[];
  try {
    output = path === '/encode' ? await opts.codec.encode(input) : await opts.codec.decode(input);
  } catch (err) {
    throw new HttpError(400, err instanceof Error ? err.message : String(err));
  }
  send(res, 200, { payloads: output.map(toJson) });
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? '');
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readJson(req: IncomingMessage, maxBody: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) throw new HttpError(413, `body larger than ${maxBody} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
}
