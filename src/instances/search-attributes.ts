import type { Client, Connection } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { parseInstanceRef } from './instance-id';

/**
 * Temporal search attributes on tidemark's workflows, so the Web UI and `temporal workflow list` filter by
 * customer (`TidemarkInstance = "acme"`). They must be registered on the server: `tidemark dev` and the test
 * kit do it; elsewhere `temporal operator search-attribute create` (see SEARCH_ATTRIBUTES_COMMAND).
 */
export const INTEGRATION_ATTRIBUTE = defineSearchAttributeKey('TidemarkIntegration', SearchAttributeType.KEYWORD);
export const TEMPLATE_ATTRIBUTE = defineSearchAttributeKey('TidemarkTemplate', SearchAttributeType.KEYWORD);
export const INSTANCE_ATTRIBUTE = defineSearchAttributeKey('TidemarkInstance', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [INTEGRATION_ATTRIBUTE.name, TEMPLATE_ATTRIBUTE.name, INSTANCE_ATTRIBUTE.name] as const;

export const SEARCH_ATTRIBUTES_COMMAND = `temporal operator search-attribute create ${SEARCH_ATTRIBUTE_NAMES.map((n) => `--name ${n}`).join(' ')} --type Keyword`;

/** The attributes of a workflow of `integration`: every workflow gets TidemarkIntegration, an instance's also its template and instance id. */
export function searchAttributesFor(integration: string): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [{ key: INTEGRATION_ATTRIBUTE, value: integration }];
  const ref = parseInstanceRef(integration);
  if (ref) pairs.push({ key: TEMPLATE_ATTRIBUTE, value: ref.template }, { key: INSTANCE_ATTRIBUTE, value: ref.instance });
  return pairs;
}

/** The server refused a search attribute it does not know (dev server: "no mapping defined", test server: "is not defined"). */
export function isUnregisteredSearchAttributeError(err: unknown): boolean {
  for (let e = err as { message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    const m = typeof e.message === 'string' ? e.message : '';
    if (/search attribute/i.test(m) && /no mapping defined|is not defined|not registered|unknown/i.test(m)) return true;
  }
  return false;
}

/** Per client: whether its namespace has the attributes (undefined: the server would not say). */
const registered = new WeakMap<Client, Promise<boolean | undefined>>();
const warned = new WeakSet<Client>();

async function hasAttributes(connection: Partial<Pick<Connection, 'operatorService'>>, namespace: string): Promise<boolean | undefined> {
  const list = await connection.operatorService?.listSearchAttributes({ namespace }).catch(() => undefined);
  if (!list) return undefined;
  const known = { ...list.customAttributes, ...list.systemAttributes };
  return SEARCH_ATTRIBUTE_NAMES.every((n) => n in known);
}

/** false when the client's namespace lacks the attributes (asked once per client; undefined: the server would not say). */
export async function searchAttributesAvailable(client: Client): Promise<boolean | undefined> {
  let known = registered.get(client);
  if (!known) registered.set(client, (known = hasAttributes(client.connection as Partial<Connection>, client.options.namespace)));
  return known;
}

function warnOnce(client: Client, warn: (message: string) => void): void {
  if (warned.has(client)) return;
  warned.add(client);
  warn(
    `tidemark: warning: Temporal namespace "${client.options.namespace}" has no search attributes ${SEARCH_ATTRIBUTE_NAMES.join(', ')}, ` +
      `so workflows start without them (the Web UI cannot filter by instance). Register them once: ${SEARCH_ATTRIBUTES_COMMAND}`,
  );
}

/**
 * Runs `start` with the integration's search attributes. Whether the namespace has them is asked once per
 * client (asking first matters: the time-skipping test server records a start it then refuses for an unknown
 * attribute); when it lacks them, this warns once how to register them and starts without: a missing
 * attribute must not stop runs. A server that will not list them is tried, and its refusal detected once.
 */
export async function withSearchAttributes<T>(
  client: Client,
  integration: string,
  start: (attributes: SearchAttributePair[] | undefined) => Promise<T>,
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<T> {
  if ((await searchAttributesAvailable(client)) === false) {
    warnOnce(client, warn);
    return start(undefined);
  }
  try {
    return await start(searchAttributesFor(integration));
  } catch (err) {
    if (!isUnregisteredSearchAttributeError(err)) throw err;
    registered.set(client, Promise.resolve(false));
    warnOnce(client, warn);
    return start(undefined);
  }
}

/** Registers the attributes on a server that allows it (dev server, time-skipping test server); existing ones are kept. */
export async function registerSearchAttributes(connection: Connection, namespace = 'default'): Promise<void> {
  const KEYWORD = 2; // temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
  const have = await connection.operatorService.listSearchAttributes({ namespace }).catch(() => undefined);
  const known = { ...have?.customAttributes, ...have?.systemAttributes };
  const missing = SEARCH_ATTRIBUTE_NAMES.filter((n) => !(n in known));
  if (!missing.length) return;
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(missing.map((n) => [n, KEYWORD])) });
}
