/**
 * The browser origins a codec server answers CORS for when none are given: the Temporal UI's, from `TEMPORAL_UI`
 * (what `tidemark dev` prints, so `dev --ui-port` is followed) or the dev server's default port; a loopback host is
 * allowed under both of its names, as a browser may reach it by either.
 */
export function defaultUiOrigins(temporalUi: string | undefined): string[] {
  const raw = temporalUi?.trim() || 'http://localhost:8233';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`TEMPORAL_UI is not a URL (${JSON.stringify(raw)}): set it to the Temporal UI's address, e.g. http://localhost:8233, or give --ui-origin`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`TEMPORAL_UI must be an http(s) URL, not ${JSON.stringify(raw)}: or give --ui-origin`);
  const origin = url.origin;
  const twin = url.hostname === 'localhost' ? origin.replace('//localhost', '//127.0.0.1') : url.hostname === '127.0.0.1' ? origin.replace('//127.0.0.1', '//localhost') : undefined;
  return twin ? [origin, twin] : [origin];
}
