import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/** Runs `COPY … TO STDOUT` and returns its output (a page: bounded by the query's LIMIT). */
export async function copyOut(client: pg.Client, sql: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyTo(sql))) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
}
