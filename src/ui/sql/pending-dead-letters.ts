/** Pending (not yet retried) dead letters per integration. */
export const PENDING_DEAD_LETTERS = `
SELECT integration, count(*)::text AS n FROM tidemark.dead_letters
 WHERE integration = ANY($1::text[]) AND retried_at IS NULL GROUP BY integration`;

export interface PendingDeadLettersRow extends Record<string, unknown> {
  integration: string;
  n: string;
}
