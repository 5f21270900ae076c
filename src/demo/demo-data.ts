import type pg from 'pg';

/** The demo's own schema: dropped and re-created on every demo, never touching anything else. */
export const DEMO_SCHEMA = 'tidemark_demo';

export async function seedDemo(db: pg.Client, rows: number): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${DEMO_SCHEMA} CASCADE`);
  await db.query(`DELETE FROM tidemark.checkpoints WHERE integration = 'demo-orders'`).catch(() => undefined);
  await db.query(`CREATE SCHEMA ${DEMO_SCHEMA}`);
  await db.query(`CREATE TABLE ${DEMO_SCHEMA}.orders (
      id bigint PRIMARY KEY, customer text NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
      items jsonb NOT NULL, updated_at timestamptz NOT NULL)`);
  await db.query(
    `INSERT INTO ${DEMO_SCHEMA}.orders
     SELECT g, 'customer-' || (g % 9973), (ARRAY['new','paid','shipped'])[1 + g % 3], (g % 1000) * 1.17,
            jsonb_build_array(jsonb_build_object('sku', 'sku-' || (g % 97), 'qty', 1 + g % 4)),
            now() - interval '30 days' + g * interval '1 millisecond' * 5
       FROM generate_series(1, $1::int) g`,
    [rows],
  );
  await db.query(`CREATE INDEX ON ${DEMO_SCHEMA}.orders (updated_at, id)`);
  await db.query(`ANALYZE ${DEMO_SCHEMA}.orders`);
}

/** Changes `changed` existing orders and adds `added` new ones, as a live system would. */
export async function changeDemo(db: pg.Client, round: number, changed: number, added: number): Promise<void> {
  await db.query(
    `UPDATE ${DEMO_SCHEMA}.orders SET status = 'refunded', updated_at = now() - interval '3 seconds'
      WHERE id IN (SELECT id FROM ${DEMO_SCHEMA}.orders WHERE status <> 'refunded' ORDER BY id LIMIT $1::int OFFSET $2::int)`,
    [changed, round * 1000],
  );
  await db.query(
    `INSERT INTO ${DEMO_SCHEMA}.orders
     SELECT m + g, 'customer-new', 'new', 9.99, '[]'::jsonb, now() - interval '3 seconds'
       FROM (SELECT max(id) AS m FROM ${DEMO_SCHEMA}.orders) s, generate_series(1, $1::int) g`,
    [added],
  );
}
