import { z } from 'zod';
import { replaceTemplateRefs, secretEnvName, templateRefProblem, templateRefsIn } from './env-refs';
import type { ScheduleConfig } from './schema';

/**
 * Templates (`template: true`): one entry of `integrations` that many instances (one per customer) share.
 * Its strings may use `${instance.NAME}` and `${secret.NAME}`; instances are rows of tidemark.instances,
 * resolved into concrete integrations when a run starts (src/instances).
 */
export interface Template {
  id: string;
  template: true;
  /** The entry as written (without `template`): strings still hold their ${instance.X} / ${secret.X}. */
  raw: Record<string, unknown>;
  /** Parameters every instance must give: the `${instance.X}` used, except the built-in `id`. */
  params: string[];
  /** Secrets every instance must give: the `${secret.X}` used. */
  secrets: string[];
  schedule?: ScheduleConfig;
  /** The state database of every instance (postgres sink.url, other sinks' stateUrl; it cannot depend on the instance). */
  sinkUrl: string;
  /** Custom source kinds accepted when the config was loaded: instances are parsed with the same. */
  sourceKinds: string[];
  /** Custom sink kinds accepted when the config was loaded (registerSink). */
  sinkKinds: string[];
  /** At most this many runs of the template's instances write at once, across all workers (src/instances/template-slots). */
  maxConcurrentRuns?: number;
  /** Task-queue fairness weight of an instance added without its own (`tidemark instances add --weight`); 1 when unset. */
  fairnessWeight?: number;
}

/** Fields of a template itself, not of its instances' integrations: checked here and left out of `raw`. */
const maxConcurrentRunsSchema = z.number().int().min(1).max(10_000);
/** Temporal's fairness weight: a share of dispatch relative to other keys; 1000 caps a typo (10 for 1.0) well before it starves everyone. */
export const fairnessWeightSchema = z.number().finite().gt(0).max(1000);
export const FAIRNESS_WEIGHT_HINT = 'must be a number above 0 and at most 1000 (e.g. 0.5 or 3): the instance\'s share of task dispatch relative to other instances, 1 by default';

type Path = (string | number)[];

/** Every string in `value` with its path. */
export function stringsIn(value: unknown, path: Path = [], out: [Path, string][] = []): [Path, string][] {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) value.forEach((v, i) => stringsIn(v, [...path, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) stringsIn(v, [...path, k], out);
  return out;
}

/** A copy of `value` with every string mapped. */
export function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)]));
  return value;
}

/** The field naming the state database of a sink as written: postgres (the default kind) `url`, other kinds `stateUrl`. */
function stateUrlKey(sink: unknown): 'url' | 'stateUrl' {
  const kind = sink && typeof sink === 'object' ? (sink as { kind?: unknown }).kind : undefined;
  return kind === undefined || kind === 'postgres' ? 'url' : 'stateUrl';
}

/** Where an instance may not change anything, and why. An http sink's `url` is the API's: it may depend on the instance. */
const fixedPaths = (stateKey: 'url' | 'stateUrl'): [Path, string][] => [
  [['id'], 'the template id names every instance (<template>/<instance-id>)'],
  [['schedule'], 'every instance runs on the template schedule (jittered per instance)'],
  [['sink', stateKey], `the ${stateKey === 'url' ? 'sink' : 'state'} database holds the instances' state (tidemark.instances), so it cannot depend on the instance`],
  [['sink', 'instanceColumn'], 'it names a column'],
];

const startsWith = (path: Path, prefix: Path) => prefix.every((p, i) => path[i] === p);

/** What `${instance.X}` stands for while a template is checked at load time: valid in identifiers, hosts and paths. */
const PROBE = 'x0';

export interface TemplateSchemas {
  /** The integration schema (with the loader's custom source kinds). */
  integration: z.ZodType<{ schedule?: ScheduleConfig }>;
  sourceKinds: readonly string[];
  sinkKinds: readonly string[];
}

/**
 * Checks a template entry: each reference is well-formed and allowed where it is, and the entry is a valid
 * integration once references are filled in. A field whose value depends on an instance parameter is
 * checked with each instance's real values when it is added (`tidemark instances add`).
 */
export function parseTemplateEntry(raw: Record<string, unknown>, ctx: z.RefinementCtx, schemas: TemplateSchemas): Template {
  const { template: _template, maxConcurrentRuns: limit, fairnessWeight: weight, ...entry } = raw;
  const maxConcurrentRuns = limit === undefined ? undefined : maxConcurrentRunsSchema.safeParse(limit);
  if (maxConcurrentRuns && !maxConcurrentRuns.success) {
    ctx.addIssue({ code: 'custom', path: ['maxConcurrentRuns'], message: 'must be a whole number from 1 to 10000: how many runs of the template\'s instances may write at once' });
  }
  const fairnessWeight = weight === undefined ? undefined : fairnessWeightSchema.safeParse(weight);
  if (fairnessWeight && !fairnessWeight.success) ctx.addIssue({ code: 'custom', path: ['fairnessWeight'], message: FAIRNESS_WEIGHT_HINT });
  const params = new Set<string>();
  const secrets = new Set<string>();
  const dependent = new Set<string>();
  const stateKey = stateUrlKey(entry.sink);
  const FIXED = fixedPaths(stateKey);
  for (const [path, text] of stringsIn(entry)) {
    for (const ref of templateRefsIn(text)) {
      const problem = templateRefProblem(ref) ?? FIXED.find(([p]) => startsWith(path, p))?.[1];
      if (problem) {
        ctx.addIssue({ code: 'custom', path, message: templateRefProblem(ref) ?? `${ref.text} is not allowed here: ${problem}` });
        continue;
      }
      if (ref.scope === 'secret') secrets.add(ref.name);
      else {
        dependent.add(JSON.stringify(path));
        if (ref.name !== 'id') params.add(ref.name);
      }
    }
  }
  if (entry.deletes !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['deletes'], message: 'deletes are not available for templates yet: reconciliation compares whole tables, and instances may share one' });
  }
  if ((entry.sink as { deletes?: unknown } | undefined)?.deletes !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'deletes'], message: 'deletes are not available for templates yet: each instance\'s ledger would be compared with a source table the instances may share' });
  }
  const probe = mapStrings(entry, (s) => replaceTemplateRefs(s, (kind, name) => (kind === 'instance' ? PROBE : `\${${secretEnvName(name)}}`)));
  const parsed = schemas.integration.safeParse(probe);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as Path;
      if (!dependent.has(JSON.stringify(path))) ctx.addIssue({ code: 'custom', path, message: issue.message });
    }
  }
  const stateUrl = ((entry.sink ?? {}) as Record<string, unknown>)[stateKey];
  return {
    id: String(entry.id),
    template: true,
    raw: entry,
    params: [...params].sort(),
    secrets: [...secrets].sort(),
    ...(parsed.success && parsed.data.schedule ? { schedule: parsed.data.schedule } : {}),
    sinkUrl: typeof stateUrl === 'string' ? stateUrl : '${DATABASE_URL}',
    sourceKinds: [...schemas.sourceKinds],
    sinkKinds: [...schemas.sinkKinds],
    ...(maxConcurrentRuns?.success ? { maxConcurrentRuns: maxConcurrentRuns.data } : {}),
    ...(fairnessWeight?.success ? { fairnessWeight: fairnessWeight.data } : {}),
  };
}

/** In an entry that is not a template: each template reference, as an issue saying how to make it one. */
export function misplacedTemplateRefs(raw: unknown, ctx: z.RefinementCtx): void {
  for (const [path, text] of stringsIn(raw)) {
    // Other scopes stay literal text outside templates, as before templates existed.
    for (const ref of templateRefsIn(text).filter((r) => r.scope === 'instance' || r.scope === 'secret')) {
      ctx.addIssue({ code: 'custom', path, message: `${ref.text} is for templates: add \`template: true\` to this integration and create its instances with \`tidemark instances add\`` });
    }
  }
  if (raw && typeof raw === 'object' && 'maxConcurrentRuns' in raw) {
    ctx.addIssue({ code: 'custom', path: ['maxConcurrentRuns'], message: 'is for templates (`template: true`): it limits how many of its instances run at once' });
  }
  if (raw && typeof raw === 'object' && 'fairnessWeight' in raw) {
    ctx.addIssue({ code: 'custom', path: ['fairnessWeight'], message: 'is for templates (`template: true`): the default fairness weight of its instances (an integration\'s runs all share its one fairness key)' });
  }
  const sink = (raw as { sink?: { instanceColumn?: unknown } } | null)?.sink;
  if (sink && typeof sink === 'object' && sink.instanceColumn !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['sink', 'instanceColumn'], message: 'is for templates (`template: true`): it holds the instance id in a target shared by instances' });
  }
}

/**
 * An entry of `integrations`: a template (`template: true`) or an integration, which may not use template
 * references. `integration`: the integration schema (with the loader's custom source kinds).
 */
export function entrySchema<I extends { id: string; schedule?: ScheduleConfig }>(integration: z.ZodType<I>, sourceKinds: readonly string[], sinkKinds: readonly string[] = []) {
  return z.unknown().transform((raw, ctx): I | Template => {
    const entry = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...(raw as Record<string, unknown>) } : raw;
    if (entry && typeof entry === 'object' && 'template' in entry) {
      const flag = (entry as { template?: unknown }).template;
      if (flag === true) return parseTemplateEntry(entry as Record<string, unknown>, ctx, { integration, sourceKinds, sinkKinds });
      if (flag !== false && flag !== undefined) ctx.addIssue({ code: 'custom', path: ['template'], message: 'must be true (a template of instances) or false' });
      delete (entry as { template?: unknown }).template;
    }
    misplacedTemplateRefs(entry, ctx);
    const result = integration.safeParse(entry);
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      return z.NEVER;
    }
    return result.data;
  });
}
