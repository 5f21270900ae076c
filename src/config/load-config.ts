import { PermanentError } from '../errors';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError, issuesFromZod } from './errors';
import { schemaObjects, suggestFor } from './key-suggestions';
import type { z } from 'zod';
import { isInstanceRef } from '../instances/instance-id';
import { type Config, type Integration, configSchemaWith, configShapesOf } from './schema';
import { resolveMappingModule, type Mapping } from './transform-schema';

export const DEFAULT_CONFIG_FILES = ['tidemark.yaml', 'tidemark.yml', 'tidemark.json'];

/** Finds the config file: the given one, else tidemark.yaml, then tidemark.json, in the working directory. */
export function findConfigFile(file?: string, cwd = process.cwd()): string {
  // `--config=` (an empty value) names no file: not the default lookup, which would load another config.
  if (file === '') throw new ConfigError('--config', [{ path: '', message: 'is empty: give the config file, e.g. --config tidemark.yaml' }]);
  if (file) {
    const p = resolve(cwd, file);
    if (!existsSync(p)) throw new ConfigError(file, [{ path: '', message: `file not found: ${p}` }]);
    if (statSync(p).isDirectory()) throw new ConfigError(file, [{ path: '', message: `is a directory (${p}): give the config file in it, e.g. ${join(file, 'tidemark.yaml')}` }]);
    return p;
  }
  for (const name of DEFAULT_CONFIG_FILES) {
    const p = resolve(cwd, name);
    if (existsSync(p)) return p;
  }
  throw new ConfigError('tidemark.yaml', [
    { path: '', message: `no config file: create tidemark.yaml (or tidemark.json) in ${cwd}, or pass --config FILE` },
  ]);
}

export interface ParseOptions {
  /** Source kinds registered in code in this process (src/sources/registry); others need source.module. */
  sourceKinds?: readonly string[];
  /** Sink kinds registered in code in this process (src/sinks/registry); others need sink.module. */
  sinkKinds?: readonly string[];
}

export function parseConfigText(text: string, source: string, opts: ParseOptions = {}): Config {
  let raw: unknown;
  try {
    raw = source.endsWith('.json') ? parseJson(text) : parseYaml(text);
  } catch (err) {
    // The hint goes on the first line, before the parser's excerpt of the line.
    const [first, ...excerpt] = (err as Error).message.split('\n');
    const hint = unquotedRefHint(text, err);
    const message = [hint ? `${(first ?? '').replace(/:$/, '')}; ${hint}:` : first, ...excerpt].join('\n');
    throw new ConfigError(source, [{ path: '', message: `not valid ${source.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}` }]);
  }
  return parseConfig(raw, source, opts);
}

/**
 * YAML reads `{ token: ${API_TOKEN} }` as a nested mapping and fails with "Unexpected flow-map-start": a `${NAME}`
 * reference inside `{ … }` or `[ … ]` must be quoted. Said when the line the parser stopped at has one unquoted.
 */
function unquotedRefHint(text: string, err: unknown): string {
  const line = (err as { linePos?: { line: number }[] }).linePos?.[0]?.line;
  const at = line !== undefined ? text.split(/\r?\n/)[line - 1] : undefined;
  return at && /[{[,]\s*(?:[^'"{}[\],]*:\s*)?\$\{/.test(at) ? 'a ${NAME} reference inside { … } or [ … ] must be quoted, "${NAME}"' : '';
}

/**
 * JSON.parse keeps the last of two equal keys without a word (a second `sink` would replace the first); YAML's
 * parser refuses them. JSON is YAML 1.2, so the YAML parser finds the repeated key and where it is; JSON.parse
 * stays the judge of everything else (a text YAML reads otherwise is not checked for repeats).
 */
function parseJson(text: string): unknown {
  const raw: unknown = JSON.parse(text);
  const repeated = parseDocument(text, { uniqueKeys: true }).errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (repeated) {
    const [line, col] = repeated.linePos?.[0] ? [repeated.linePos[0].line, repeated.linePos[0].col] : [];
    const key = /^"(?:[^"\\]|\\.)*"/.exec(text.slice(repeated.pos[0]))?.[0] ?? 'a key';
    throw new Error(`key ${key} is written twice in one object${line ? ` (again at line ${line}, column ${col})` : ''}: JSON would keep only the last; keep one`);
  }
  return raw;
}

export function parseConfig(raw: unknown, source = 'config', opts: ParseOptions = {}): Config {
  const schema = configSchemaWith(opts.sourceKinds, opts.sinkKinds);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const objects = objectsOf(schema);
    const suggest = (path: readonly PropertyKey[], key: string, unknownHere: readonly string[]) => {
      const at = path.reduce<unknown>((o, p) => (o && typeof o === 'object' ? (o as Record<PropertyKey, unknown>)[p] : undefined), raw);
      const siblings = at && typeof at === 'object' && !Array.isArray(at) ? Object.keys(at).filter((k) => !unknownHere.includes(k)) : [];
      return suggestFor(key, siblings, objects);
    };
    throw new ConfigError(source, issuesFromZod(result.error, suggest));
  }
  const entries = (raw as { integrations?: unknown[] }).integrations ?? [];
  for (const it of result.data.integrations) {
    const entry = entries.find((e) => (e as { id?: unknown } | null)?.id === it.id);
    if (entry) written.set(it, structuredClone(entry));
  }
  return result.data;
}

const knownObjects = new WeakMap<object, Set<string>[]>();
/** The key sets of the schema's objects, walked once per schema (for "did you mean"). */
function objectsOf(schema: z.ZodType): Set<string>[] {
  let objects = knownObjects.get(schema);
  if (!objects) knownObjects.set(schema, (objects = schemaObjects(configShapesOf(schema))));
  return objects;
}

/** Each parsed integration's entry as written (durations as "1s", no defaults filled in), for showing it. */
const written = new WeakMap<Integration, unknown>();

/** The integration's config entry as written in the file (or the object given to parseConfig); undefined for one made otherwise (an instance). */
export function writtenEntryOf(it: Integration): unknown {
  return written.get(it);
}

export function loadConfig(file?: string, cwd?: string, opts: ParseOptions = {}): Config {
  const path = findConfigFile(file, cwd);
  const config = parseConfigText(readFileSync(path, 'utf8'), path, opts);
  // A custom source's module is named relative to the config file; workers get the absolute path.
  // Templates too: their sources as written (instances are parsed from them when a run starts).
  const sources = [...config.integrations.map((it) => it.source), ...(config.templates ?? []).map((t) => t.raw.source)];
  for (const source of sources) {
    if (!source || typeof source !== 'object') continue;
    const s = source as { kind?: unknown; module?: unknown; path?: unknown; within?: unknown };
    if (typeof s.module === 'string' && !isAbsolute(s.module)) s.module = resolve(dirname(path), s.module);
    // A CSV source's file too, unless the path starts with a ${NAME} reference (resolved in the worker).
    if (s.kind === 'csv' && typeof s.path === 'string' && !isAbsolute(s.path) && !s.path.startsWith('${')) s.path = resolve(dirname(path), s.path);
    if (s.kind === 'csv' && typeof s.within === 'string' && !isAbsolute(s.within) && !s.within.startsWith('${')) s.within = resolve(dirname(path), s.within);
  }
  // A custom sink's module too (templates' raw sinks have the same shape).
  for (const sink of [...config.integrations.map((it) => it.sink), ...(config.templates ?? []).map((t) => t.raw.sink)]) {
    const s = sink as { module?: unknown } | undefined;
    if (s && typeof s.module === 'string' && !isAbsolute(s.module)) s.module = resolve(dirname(path), s.module);
  }
  // A mapping module too (templates' raw mappings have the same shape).
  for (const mapping of [...config.integrations.map((it) => it.mapping), ...(config.templates ?? []).map((t) => (t.raw as { mapping?: Mapping }).mapping)]) {
    resolveMappingModule(mapping, dirname(path));
  }
  return config;
}

export class UnknownIntegrationError extends PermanentError {
  override readonly name = 'UnknownIntegrationError';
  constructor(
    readonly integration: string,
    readonly known: string[],
  ) {
    super(`unknown integration "${integration}": the config defines ${known.length ? known.map((k) => `"${k}"`).join(', ') : 'none'}`);
  }
}

/** An id with a "/" that is not `<template>/<instance-id>`: the form is named, not "unknown integration". */
export class InvalidInstanceIdError extends PermanentError {
  override readonly name = 'InvalidInstanceIdError';
  constructor(readonly integration: string) {
    super(`invalid instance id "${integration}": an instance is named <template>/<instance-id>, each part [a-z0-9][a-z0-9_-]* (lower case letters, digits, "_" and "-", at most 63 characters)`);
  }
}

/** An id that names a template (or an instance of one) where an integration of the config was expected. */
export class TemplateNotIntegrationError extends PermanentError {
  override readonly name = 'TemplateNotIntegrationError';
  constructor(
    readonly integration: string,
    readonly template: string,
  ) {
    super(
      integration === template
        ? `"${template}" is a template: name one of its instances, "${template}/<instance-id>" (\`tidemark instances list\`)`
        : `"${integration}" is an instance of template "${template}": resolve it with resolveIntegration() (the worker and the CLI do)`,
    );
  }
}

export function getIntegration(config: Config, id: string): Integration {
  const found = config.integrations.find((i) => i.id === id);
  if (found) return found;
  // Meant as an instance (a "/"), but not one in form: say what the form is, not that it is no integration.
  if (id.includes('/') && !isInstanceRef(id)) {
    throw new InvalidInstanceIdError(id);
  }
  const template = config.templates?.find((t) => id === t.id || id.startsWith(`${t.id}/`));
  if (template) throw new TemplateNotIntegrationError(id, template.id);
  throw new UnknownIntegrationError(id, config.integrations.map((i) => i.id));
}
