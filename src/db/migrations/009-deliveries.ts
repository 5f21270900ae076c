/**
 * The HTTP sink's delivery ledger: per integration, each record key's content hash at its last successful
 * delivery. Rows are written in the page's transaction, with the checkpoint: a record whose hash is here
 * is not sent again, and a page that did not commit is sent again with the same idempotency keys.
 * Dead letters of refused deliveries keep the API's status (the body goes in `detail`).
 */
export default `
CREATE TABLE tidemark.deliveries (
  integration text NOT NULL,
  record_key text NOT NULL,
  content_hash text NOT NULL,
  delivered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (integration, record_key)
);
ALTER TABLE tidemark.dead_letters ADD COLUMN http_status int;
`;
