import { EventEmitter } from 'node:events';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { copyOut } from '../../src/pg/copy-out';

/**
 * copyOut's parser fed the protocol's bytes cut at every place a socket could cut them: a header split across
 * chunks, a payload split, a chunk of one byte, messages between rows (NoticeResponse, ParameterStatus), what
 * follows CopyDone handed back to pg byte for byte. (test/db/copy-out.test.ts reads real servers.)
 */
const message = (code: string, body: Buffer) => {
  const h = Buffer.alloc(5);
  h[0] = code.charCodeAt(0);
  h.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([h, body]);
};

function stream(rows: Buffer[]): Buffer {
  const parts = [message('H', Buffer.from([0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))];
  rows.forEach((r, i) => {
    parts.push(message('d', r));
    if (i === 1) parts.push(message('N', Buffer.from('SNOTICE\0Mhello\0\0')), message('S', Buffer.from('TimeZone\0UTC\0')));
  });
  return Buffer.concat([...parts, message('c', Buffer.alloc(0))]);
}

/** Runs copyOut on a fake connection whose socket delivers `chunks`; returns its data and what pg got back after CopyDone. */
async function fed(chunks: Buffer[], rows: number): Promise<{ data: Buffer; handedBack: Buffer }> {
  const socket = new EventEmitter();
  const back: Buffer[] = [];
  socket.on('data', (c: Buffer) => back.push(c));
  let q: { handleCommandComplete(m: { text: string }): void; handleReadyForQuery(): void } | undefined;
  const client = { query: (x: typeof q & { submit(c: unknown): void }) => ((q = x), x.submit({ stream: socket, query: () => undefined })) };
  const done = copyOut(client as unknown as pg.Client, 'COPY t TO STDOUT', 16);
  for (const c of chunks) socket.emit('data', c);
  q?.handleCommandComplete({ text: `COPY ${rows}` });
  q?.handleReadyForQuery();
  return { data: (await done).data, handedBack: Buffer.concat(back) };
}

describe('copyOut across socket chunks', () => {
  const rows = [Buffer.from('1\ta\n'), Buffer.from('22\tbb\\tb\n'), Buffer.alloc(300, 0x78), Buffer.from('\n'), Buffer.from('4\tü 日本\n')];
  const expected = Buffer.concat(rows);
  const after = message('C', Buffer.from('COPY 5\0'));
  const bytes = Buffer.concat([stream(rows), after]);

  it('a stream cut in two at every byte gives the same rows, and pg gets exactly what follows CopyDone', async () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const { data, handedBack } = await fed([bytes.subarray(0, cut), bytes.subarray(cut)], rows.length);
      expect(data.equals(expected), `cut at ${cut}`).toBe(true);
      expect(handedBack.equals(after), `cut at ${cut}`).toBe(true);
    }
  });

  it('one byte at a time, and in chunks of 2 to 17 bytes', async () => {
    for (let size = 1; size <= 17; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const { data, handedBack } = await fed(chunks, rows.length);
      expect(data.equals(expected), `chunks of ${size}`).toBe(true);
      expect(handedBack.equals(after)).toBe(true);
    }
  });

  it('thousands of rows grow the buffer from a small size hint; a count that disagrees rejects', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => Buffer.from(`${i}\t${'v'.repeat(i % 200)}\n`));
    const all = stream(many);
    const chunks: Buffer[] = [];
    for (let i = 0; i < all.length; i += 65_536) chunks.push(all.subarray(i, i + 65_536));
    expect((await fed(chunks, many.length)).data.equals(Buffer.concat(many))).toBe(true);
    await expect(fed(chunks, many.length + 1)).rejects.toThrow(/reported 5001 rows but 5000 row messages arrived/);
  });

  it('an ErrorResponse in mid-stream is handed to pg from its first byte', async () => {
    const error = message('E', Buffer.from('SERROR\0C22P02\0Mbad\0\0'));
    const firstTwo = 20 + 9; // CopyOutResponse and the first row's message
    const s = Buffer.concat([stream(rows).subarray(0, firstTwo), error]);
    const socket = new EventEmitter();
    const back: Buffer[] = [];
    socket.on('data', (c: Buffer) => back.push(c));
    const client = { query: (x: { submit(c: unknown): void }) => x.submit({ stream: socket, query: () => undefined }) };
    void copyOut(client as unknown as pg.Client, 'COPY t TO STDOUT').catch(() => undefined);
    for (let i = 0; i < s.length; i += 7) socket.emit('data', s.subarray(i, i + 7));
    expect(Buffer.concat(back).equals(error)).toBe(true);
  });
});
