// Run in a scratch project that installed the packed tidemark (test/kit/packed-package.test.ts): a user's
// test of one integration, which requires tidemark by package name only.
/* eslint-disable @typescript-eslint/no-require-imports -- a user's CommonJS script */
const { createTestKit } = require('tidemark/testing');
const { Client } = require('pg');

async function sql(url, text) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

async function main() {
  const kit = await createTestKit({
    config: {
      integrations: [
        {
          id: 'items',
          source: { kind: 'postgres', url: '${SRC}', table: 'public.items', cursor: ['id'] },
          sink: { url: '${DST}', table: 'public.items_copy', key: ['id'], create: true },
          batchSize: 100,
        },
      ],
    },
  });
  try {
    const src = await kit.createDatabase('packed_src');
    const dst = await kit.createDatabase('packed_dst');
    kit.setEnv({ SRC: src, DST: dst });
    await sql(src, 'CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)');
    await sql(src, "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 250) g");
    const result = await kit.sync('items');
    const copied = (await sql(dst, 'SELECT count(*)::int AS n FROM public.items_copy')).rows[0].n;
    console.log(JSON.stringify({ result, copied }));
  } finally {
    await kit.teardown();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : String(err));
  process.exit(1);
});
