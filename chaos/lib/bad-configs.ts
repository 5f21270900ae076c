/**
 * Invalid configs, generated from one valid config by changing one thing each: wrong types, missing
 * fields, unknown kinds and fields, bad durations, identifiers carrying SQL, bad cursors, schedules,
 * limits, mapping and validation rules, http and csv sources, and files that do not parse. `field`
 * is the path the error message must name.
 */
export interface BadConfig {
  name: string;
  /** file content (JSON unless `file` ends in .yaml) */
  text: string;
  file: string;
  field: string;
}

type Json = Record<string, unknown>;
const ID = 'badinput';

function valid(): Json {
  return {
    integrations: [
      {
        id: ID,
        source: { kind: 'postgres', url: '${SRC_URL}', table: 'public.orders', cursor: ['updated_at', 'id'], lag: '1s' },
        sink: { kind: 'postgres', url: '${DST_URL}', table: 'copy.orders', key: ['id'], create: true },
        batchSize: 1000,
      },
    ],
  };
}

const HTTP_SOURCE = { kind: 'http', url: '${API_URL}/v1/orders', pagination: { style: 'starting_after' }, columns: { id: 'bigint', status: 'text' } };
const CSV_SOURCE = { kind: 'csv', path: '/tmp/orders.csv' };

/** Sets (or with `undefined`, deletes) the value at a dotted path, e.g. "integrations.0.source.table". */
function change(path: string, value: unknown, from: Json = valid()): Json {
  const keys = path.split('.');
  let node: Record<string, unknown> = from;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return from;
}

const withSource = (source: Json) => change('integrations.0.source', source);
const it = (field = '') => `integrations[0]${field}`;

/** [what, path to change, new value (undefined deletes), field the message must name] */
const CHANGES: Array<[string, string, unknown, string]> = [
  ['integrations missing', 'integrations', undefined, 'integrations'],
  ['integrations empty', 'integrations', [], 'integrations'],
  ['integrations a string', 'integrations', 'orders', 'integrations'],
  ['unknown top-level field', 'workers', 3, 'workers'],
  ['id missing', 'integrations.0.id', undefined, it('.id')],
  ['id upper case', 'integrations.0.id', 'Orders', it('.id')],
  ['id with a space', 'integrations.0.id', 'has space', it('.id')],
  ['id a number', 'integrations.0.id', 123, it('.id')],
  ['id starting with -', 'integrations.0.id', '-orders', it('.id')],
  ['id too long', 'integrations.0.id', 'a'.repeat(64), it('.id')],
  ['id carrying SQL', 'integrations.0.id', 'orders; DROP TABLE x', it('.id')],
  ['unknown integration field', 'integrations.0.secret', 1, 'secret'],
  ['batchSize 0', 'integrations.0.batchSize', 0, it('.batchSize')],
  ['batchSize negative', 'integrations.0.batchSize', -5, it('.batchSize')],
  ['batchSize fractional', 'integrations.0.batchSize', 1.5, it('.batchSize')],
  ['batchSize a string', 'integrations.0.batchSize', '100', it('.batchSize')],
  ['batchSize too big', 'integrations.0.batchSize', 100_001, it('.batchSize')],
  ['rateLimit 0', 'integrations.0.rateLimit', 0, it('.rateLimit')],
  ['rateLimit negative', 'integrations.0.rateLimit', -1, it('.rateLimit')],
  ['rateLimit a word', 'integrations.0.rateLimit', 'fast', it('.rateLimit')],
  ['maxRunDuration a word', 'integrations.0.maxRunDuration', 'forever', it('.maxRunDuration')],
  ['maxRunDuration negative', 'integrations.0.maxRunDuration', -1, it('.maxRunDuration')],
  ['maxRunDuration bad unit', 'integrations.0.maxRunDuration', '5 parsecs', it('.maxRunDuration')],
  ['schedule empty', 'integrations.0.schedule', {}, it('.schedule')],
  ['schedule every 0s', 'integrations.0.schedule', { every: '0s' }, it('.schedule')],
  ['schedule every a word', 'integrations.0.schedule', { every: 'often' }, it('.schedule')],
  ['schedule empty cron', 'integrations.0.schedule', { cron: '' }, it('.schedule')],
  ['schedule unknown overlap', 'integrations.0.schedule', { every: '5m', overlap: 'sometimes' }, it('.schedule')],
  ['schedule every and cron', 'integrations.0.schedule', { every: '5m', cron: '* * * * *' }, it('.schedule')],
  ['schedule a sentence', 'integrations.0.schedule', 'every 5 minutes', it('.schedule')],
  ['schedule bad catchupWindow', 'integrations.0.schedule', { every: '5m', catchupWindow: 'later' }, it('.schedule')],
  ['source missing', 'integrations.0.source', undefined, it('.source')],
  ['source kind missing', 'integrations.0.source.kind', undefined, it('.source.kind')],
  ['source kind unknown', 'integrations.0.source.kind', 'mysql', it('.source.kind')],
  ['source kind a number', 'integrations.0.source.kind', 5, it('.source.kind')],
  ['source kind not a name', 'integrations.0.source.kind', 'My API', it('.source.kind')],
  ['source url missing', 'integrations.0.source.url', undefined, it('.source.url')],
  ['source url empty', 'integrations.0.source.url', '', it('.source.url')],
  ['source table carrying SQL', 'integrations.0.source.table', 'orders; DROP TABLE x', it('.source.table')],
  ['source table three parts', 'integrations.0.source.table', 'a.b.c', it('.source.table')],
  ['source table empty', 'integrations.0.source.table', '', it('.source.table')],
  ['source table a number', 'integrations.0.source.table', 5, it('.source.table')],
  ['source table quoted', 'integrations.0.source.table', 'public."orders"', it('.source.table')],
  ['cursor empty', 'integrations.0.source.cursor', [], it('.source.cursor')],
  ['cursor a string', 'integrations.0.source.cursor', 'updated_at', it('.source.cursor')],
  ['cursor a number', 'integrations.0.source.cursor', [1], it('.source.cursor')],
  ['cursor column carrying SQL', 'integrations.0.source.cursor', ['updated_at; DROP TABLE x', 'id'], it('.source.cursor[0]')],
  ['cursor missing', 'integrations.0.source.cursor', undefined, it('.source.cursor')],
  ['lag a word', 'integrations.0.source.lag', 'soon', it('.source.lag')],
  ['lag negative', 'integrations.0.source.lag', '-5s', it('.source.lag')],
  ['lag a boolean', 'integrations.0.source.lag', true, it('.source.lag')],
  ['columns empty', 'integrations.0.source.columns', [], it('.source.columns')],
  ['columns not identifiers', 'integrations.0.source.columns', ['x y'], it('.source.columns[0]')],
  ['unknown source field', 'integrations.0.source.password', 'hunter2', 'password'],
  ['sink missing', 'integrations.0.sink', undefined, it('.sink')],
  ['sink table missing', 'integrations.0.sink.table', undefined, it('.sink.table')],
  ['sink table carrying SQL', 'integrations.0.sink.table', 'x; DROP TABLE y', it('.sink.table')],
  ['sink key empty', 'integrations.0.sink.key', [], it('.sink.key')],
  ['sink key a string', 'integrations.0.sink.key', 'id', it('.sink.key')],
  ['sink key carrying SQL', 'integrations.0.sink.key', ['id); DROP TABLE x; --'], it('.sink.key[0]')],
  ['sink create a word', 'integrations.0.sink.create', 'yes', it('.sink.create')],
  ['sink kind unknown', 'integrations.0.sink.kind', 'mysql', it('.sink.kind')],
  ['sink url empty', 'integrations.0.sink.url', '', it('.sink.url')],
  ['unknown sink field', 'integrations.0.sink.mode', 'replace', 'mode'],
  ['mapping unknown transform', 'integrations.0.mapping', { id: { from: 'id', transform: 'explode' } }, it('.mapping.id')],
  ['mapping column not an identifier', 'integrations.0.mapping', { 'bad col': 'id' }, it('.mapping')],
  ['mapping empty source field', 'integrations.0.mapping', { id: '' }, it('.mapping.id')],
  ['validate unknown type', 'integrations.0.validate', { total: { type: 'float' } }, it('.validate.total.type')],
  ['validate min a word', 'integrations.0.validate', { total: { min: 'zero' } }, it('.validate.total.min')],
  ['validate bad pattern', 'integrations.0.validate', { note: { pattern: '([' } }, it('.validate.note.pattern')],
  ['validate empty enum', 'integrations.0.validate', { status: { enum: [] } }, it('.validate.status.enum')],
  ['validate column carrying SQL', 'integrations.0.validate', { 'x; DROP': { required: true } }, it('.validate')],
];

/** Whole-source replacements: http and csv sources, and a custom kind without a module. */
const SOURCES: Array<[string, Json, string]> = [
  ['http pagination style unknown', { ...HTTP_SOURCE, pagination: { style: 'carrier_pigeon' } }, it('.source.pagination')],
  ['http url not http', { ...HTTP_SOURCE, url: 'ftp://example.com/orders' }, it('.source.url')],
  ['http timeout bad unit', { ...HTTP_SOURCE, timeout: '1 fortnight' }, it('.source.timeout')],
  ['http retries negative', { ...HTTP_SOURCE, retries: -1 }, it('.source.retries')],
  ['http header name invalid', { ...HTTP_SOURCE, headers: { 'bad header': 'x' } }, it('.source.headers')],
  ['http lag with starting_after', { ...HTTP_SOURCE, lag: '2s' }, it('.source.lag')],
  ['http columns empty', { ...HTTP_SOURCE, columns: {} }, it('.source.columns')],
  ['http column not an identifier', { ...HTTP_SOURCE, columns: { '1abc': 'text' } }, it('.source.columns')],
  ['http pagination missing', { ...HTTP_SOURCE, pagination: undefined }, it('.source.pagination')],
  ['http requestsPerSecond 0', { ...HTTP_SOURCE, requestsPerSecond: 0 }, it('.source.requestsPerSecond')],
  ['http unknown field', { ...HTTP_SOURCE, token: 'abc' }, 'token'],
  ['csv path empty', { ...CSV_SOURCE, path: '' }, it('.source.path')],
  ['csv delimiter empty', { ...CSV_SOURCE, delimiter: '' }, it('.source.delimiter')],
  ['csv quote two characters', { ...CSV_SOURCE, quote: 'ab' }, it('.source.quote')],
  ['csv encoding unknown', { ...CSV_SOURCE, encoding: 'utf16' }, it('.source.encoding')],
  ['csv header empty', { ...CSV_SOURCE, header: [] }, it('.source.header')],
  ['custom kind without a module', { kind: 'my-api', token: '${API_TOKEN}' }, it('.source.kind')],
];

export function badConfigs(): BadConfig[] {
  const out: BadConfig[] = CHANGES.map(([name, path, value, field]) => ({ name, text: JSON.stringify(change(path, value)), file: 'tidemark.json', field }));
  for (const [name, source, field] of SOURCES) out.push({ name, text: JSON.stringify(withSource(source)), file: 'tidemark.json', field });
  const two = valid();
  (two.integrations as Json[]).push({ ...((two.integrations as Json[])[0] as Json) });
  out.push({ name: 'duplicate id', text: JSON.stringify(two), file: 'tidemark.json', field: 'integrations[1].id' });
  out.push({ name: 'root not an object', text: JSON.stringify('integrations'), file: 'tidemark.json', field: '(root)' });
  out.push({ name: 'JSON that does not parse', text: '{"integrations": [', file: 'tidemark.json', field: 'not valid JSON' });
  out.push({ name: 'YAML that does not parse', text: 'integrations:\n  - id: x\n   source: [', file: 'tidemark.yaml', field: 'not valid YAML' });
  out.push({ name: 'YAML with SQL in the table', text: `integrations:\n  - id: ${ID}\n    source: {kind: postgres, url: "postgres://x", table: "orders; DROP TABLE x", cursor: [updated_at, id]}\n    sink: {table: t, key: [id]}\n`, file: 'tidemark.yaml', field: it('.source.table') });
  return out;
}
