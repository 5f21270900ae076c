import type { Template } from '../config/schema';
import type { InstanceRow } from '../db/state/instances-read';

/** An instance's fairness weight: its own, else its template's `fairnessWeight`, else 1 (Temporal's default). */
export function instanceWeight(t: Pick<Template, 'fairnessWeight'>, row: Pick<InstanceRow, 'weight'> | undefined): number {
  return row?.weight ?? t.fairnessWeight ?? 1;
}

/** The bounds of a weight (as the template's `fairnessWeight`): above 0, at most 1000, so a typo cannot starve every other instance. */
export function checkWeight(w: unknown): w is number {
  return typeof w === 'number' && Number.isFinite(w) && w > 0 && w <= 1000;
}
