import { describe, expect, it } from 'vitest';
import { parseConfig, type Template } from '../../src/config';
import { MissingEnvError } from '../../src/config/env-refs';
import { templateStateUrl } from '../../src/instances/templates';

const source = { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['updated_at', 'id'] };

function template(sink: Record<string, unknown>): Template {
  const t = parseConfig({ integrations: [{ id: 'tpl', template: true, source, sink }] }).templates?.[0];
  if (!t) throw new Error('no template parsed');
  return t;
}

function messageOf(t: Template): string {
  try {
    templateStateUrl(t, {});
  } catch (err) {
    expect(err).toBeInstanceOf(MissingEnvError);
    return (err as Error).message;
  }
  throw new Error('expected a MissingEnvError');
}

describe("templateStateUrl's error names the field the user wrote", () => {
  it('postgres sink: sink.url', () => {
    expect(messageOf(template({ url: '${DST_URL}', table: 'tenant_${instance.id}.orders', key: ['id'] }))).toBe(
      "integrations[tpl].sink.url refers to ${DST_URL}, but DST_URL is not set: export it where tidemark runs (a worker reads it when a run starts; the CLI when a command reads the state database)",
    );
  });

  it('http sink: sink.stateUrl (sink.url is the API)', () => {
    const t = template({ kind: 'http', url: 'https://api.example.com/t/${instance.account}/items', key: ['id'], stateUrl: '${STATE_URL}' });
    expect(messageOf(t)).toBe("integrations[tpl].sink.stateUrl refers to ${STATE_URL}, but STATE_URL is not set: export it where tidemark runs (a worker reads it when a run starts; the CLI when a command reads the state database)");
    // Without stateUrl the default ${DATABASE_URL} is named, under the same field.
    expect(messageOf(template({ kind: 'http', url: 'https://api.example.com/items', key: ['id'] }))).toMatch(/^integrations\[tpl\]\.sink\.stateUrl refers to \$\{DATABASE_URL\}/);
    expect(templateStateUrl(t, { STATE_URL: 'postgres://state/db' })).toBe('postgres://state/db');
  });

  it('custom sink: sink.stateUrl', () => {
    expect(messageOf(template({ kind: 'queue', module: '/opt/sinks/queue-sink.js', topic: 't-${instance.id}', stateUrl: '${STATE_URL}' }))).toMatch(/^integrations\[tpl\]\.sink\.stateUrl refers to \$\{STATE_URL\}/);
  });
});
