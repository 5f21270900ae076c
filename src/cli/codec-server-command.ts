import type { Command } from 'commander';
import { wholeNumber } from './arg-parsers';
import { lazy } from './lazy';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerCodecServer(program: Command): void {
  program
    .command('codec-server')
    .description('serve the Temporal codec-server endpoints (/encode, /decode) with TIDEMARK_ENCRYPTION_KEY, so the Temporal UI shows payloads in clear text')
    .option('--port <p>', 'port to listen on', wholeNumber(1, 65535), 8888)
    .option('--host <h>', 'address to bind; anything but localhost requires TIDEMARK_CODEC_TOKEN', '127.0.0.1')
    .option('--ui-origin <url>', 'browser origin of the Temporal UI allowed to call (repeatable; default: the origin of env TEMPORAL_UI, else http://localhost:8233)', collect)
    .action(async (opts: { port: number; host: string; uiOrigin?: string[] }) => {
      const token = process.env.TIDEMARK_CODEC_TOKEN || undefined;
      const { checkCodecBinding, createCodecServer } = await lazy('../codec/codec-server');
      checkCodecBinding(opts.host, token);
      const key = process.env.TIDEMARK_ENCRYPTION_KEY;
      if (!key) throw new Error('TIDEMARK_ENCRYPTION_KEY is not set: the codec server decodes with the same key as the workers and clients');
      const origins = opts.uiOrigin ?? (await lazy('../codec/ui-origins')).defaultUiOrigins(process.env.TEMPORAL_UI);
      const { AesGcmCodec, parseKey } = await lazy('../codec/aes-gcm-codec');
      const server = createCodecServer({ codec: new AesGcmCodec(parseKey(key)), origins, token });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, resolve);
      });
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      console.log(`tidemark codec-server: http://${opts.host}:${port} (POST /encode, /decode; CORS for ${origins.join(', ')}${token ? '; bearer token required' : ''})`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close(() => resolve());
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      console.log('tidemark codec-server: stopped');
    });
}
