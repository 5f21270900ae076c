import net from 'node:net';
import { pollUntil } from '../util/poll';

/**
 * A TCP port that nothing listens on, for a server we are about to start.
 *
 * Servers that pick their own ports (the Temporal CLI picks several internal ones) ask the OS
 * for port 0 too, and Linux may hand out a just-released port again at once. As the Temporal CLI
 * does, we connect to the port and close the server side first: the port then sits in TIME_WAIT,
 * which keeps bind(0) from handing it out again for a while, while an explicit bind with
 * SO_REUSEADDR (Node, Go, PostgreSQL all set it) still succeeds.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    if (!port) throw new Error('could not determine a free port');
    const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
    const client = net.connect({ port, host });
    const clientClosed = new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.once('error', () => resolve());
    });
    const serverSide = await accepted;
    serverSide.destroy(); // server side closes first, so the TIME_WAIT is on this port
    client.end();
    await clientClosed;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return port;
}

/** True if nothing listens on `port` (we can bind it ourselves). */
export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** True once a TCP connection to host:port succeeds. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls until host:port accepts connections. `failed` is checked between polls so a server
 * that already died is reported at once instead of after the timeout.
 */
export async function waitForPort(
  port: number,
  opts: { host?: string; timeoutMs: number; what: string; failed?: () => Error | undefined },
): Promise<void> {
  const timedOut = () => new Error(`${opts.what} did not listen on port ${port} within ${opts.timeoutMs / 1000} s`);
  await pollUntil(async () => {
    const err = opts.failed?.();
    if (err) throw err;
    return (await canConnect(port, opts.host)) || undefined;
  }, { intervalMs: 50, timeoutMs: opts.timeoutMs, timedOut });
}
