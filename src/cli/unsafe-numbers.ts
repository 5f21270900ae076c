/**
 * A cursor typed as JSON with an integer past 2^53 (`[9007199254740993]`) is rounded by JSON.parse before anything
 * can check it: it would be read as another position, or refused showing the rounded number (an acceptance run).
 * Says which number and to give it as a string; undefined when every number survived.
 */
export function unsafeNumberProblem(raw: string, value: unknown): string | undefined {
  const rounded = firstUnsafe(value);
  if (rounded === undefined) return undefined;
  const typed = raw.match(/-?\d{16,}/)?.[0] ?? String(rounded);
  // Past 2^53 some integers still read exactly (2^53 itself): only a number that changed is refused.
  if (typed === BigInt(rounded).toString()) return undefined;
  return `the number ${typed} is too large for a JSON number to hold exactly (it reads as ${BigInt(rounded).toString()}); give it as a string, "${typed}", as \`tidemark checkpoint show\` prints cursors`;
}

function firstUnsafe(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v) ? v : undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const found = firstUnsafe(x);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (v && typeof v === 'object') return firstUnsafe(Object.values(v));
  return undefined;
}
