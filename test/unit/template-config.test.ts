import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, type Config, type Template } from '../../src/config';
import { InstanceParamsError, SecretCipher, instantiate, lagOf, secretAad } from '../../src/instances';
import { jitterOffset, instanceScheduleConfig } from '../../src/schedules';
import { scheduleIdFor } from '../../src/schedules';
import { workflowIdFor } from '../../src/client';

const KEY = Buffer.alloc(32, 7).toString('base64');

const shop = (extra: Record<string, unknown> = {}, sink: Record<string, unknown> = {}) => ({
  id: 'shop',
  template: true,
  source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.region}', cursor: ['updated_at', 'id'] },
  sink: { kind: 'postgres', url: '${DST_URL}', table: 'tenant_${instance.id}.orders', key: ['id'], create: true, ...sink },
  schedule: { every: '5m' },
  ...extra,
});

function issues(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

const templateOf = (config: Config, id = 'shop'): Template => config.templates!.find((t) => t.id === id)!;

describe('templates in the config', () => {
  it('a template is not an integration: its parameters and secrets are the references it uses', () => {
    const config = parseConfig({ integrations: [shop(), { id: 'orders', source: { kind: 'postgres', url: '${SRC}', table: 'public.orders', cursor: ['id'] }, sink: { table: 'copy.orders', key: ['id'] } }] });
    expect(config.integrations.map((i) => i.id)).toEqual(['orders']);
    const t = templateOf(config);
    expect(t).toMatchObject({ id: 'shop', params: ['region'], secrets: ['db'], sinkUrl: '${DST_URL}', schedule: { every: 300_000, overlap: 'skip' } });
  });

  it('checks every reference: its scope, its name, and where it may stand', () => {
    const found = issues({
      integrations: [
        shop({ schedule: { cron: '${instance.cron}' }, batchSize: 0 }, { url: 'postgres://x/${instance.db}' }),
        { ...shop(), id: 'typo', source: { kind: 'postgres', url: '${instanse.db}', table: 'public.orders', cursor: ['id'] } },
        { ...shop(), id: 'badname', source: { kind: 'postgres', url: '${secret.my-db}', table: 'public.orders', cursor: ['id'] } },
      ],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^integrations\[0\]\.schedule\.cron: \$\{instance\.cron\} is not allowed here: every instance runs on the template schedule/),
        expect.stringMatching(/^integrations\[0\]\.sink\.url: \$\{instance\.db\} is not allowed here: the sink database holds the instances' state/),
        expect.stringMatching(/^integrations\[0\]\.batchSize: /),
        expect.stringMatching(/^integrations\[1\]\.source\.url: unknown reference \$\{instanse\.db\}: use \$\{instance\.NAME\}/),
        expect.stringMatching(/^integrations\[2\]\.source\.url: \$\{secret\.my-db\}: the name must be letters, digits and "_"/),
      ]),
    );
  });

  it('an integration that is not a template cannot use instance references, secrets or instanceColumn', () => {
    const found = issues({
      integrations: [{ id: 'orders', source: { kind: 'postgres', url: '${secret.db}', table: 'public.orders_${instance.id}', cursor: ['id'] }, sink: { table: 'copy.orders', key: ['id'], instanceColumn: 'tenant' } }],
    });
    expect(found).toEqual(
      expect.arrayContaining([
        'integrations[0].source.url: ${secret.db} is for templates: add `template: true` to this integration and create its instances with `tidemark instances add`',
        'integrations[0].source.table: ${instance.id} is for templates: add `template: true` to this integration and create its instances with `tidemark instances add`',
        'integrations[0].sink.instanceColumn: is for templates (`template: true`): it holds the instance id in a target shared by instances',
      ]),
    );
  });

  it('ids of templates and integrations share one namespace', () => {
    expect(issues({ integrations: [shop(), { ...shop(), template: undefined, id: 'shop', source: { kind: 'postgres', url: '${X}', table: 'public.o', cursor: ['id'] }, sink: { table: 'a.b', key: ['id'] } }] })).toContain(
      'integrations[1].id: duplicate id "shop" (also integrations[0])',
    );
  });
});

describe('instantiate: template + instance → a concrete integration', () => {
  const config = parseConfig({ integrations: [shop(), shop({ id: 'shared' }, { table: 'shared.orders', instanceColumn: 'tenant' })] });

  it('fills parameters, turns secrets into references, and names the integration <template>/<instance-id>', () => {
    const { integration, env } = instantiate(templateOf(config), { instanceId: 'acme', params: { region: 'eu' }, secrets: { db: { env: 'ACME_DB' } } }, { ACME_DB: 'postgres://a' });
    expect(integration.id).toBe('shop/acme');
    expect(integration.source).toMatchObject({ url: '${ACME_DB}', table: 'public.orders_eu' });
    expect(integration.sink).toMatchObject({ table: 'tenant_acme.orders', key: ['id'] });
    expect(env).toEqual({ ACME_DB: 'postgres://a' });
  });

  it('a shared target: the instance column joins the key', () => {
    const { integration } = instantiate(templateOf(config, 'shared'), { instanceId: 'acme', params: { region: 'eu' }, secrets: { db: { env: 'ACME_DB' } } }, {});
    expect(integration.sink).toMatchObject({ table: 'shared.orders', key: ['tenant', 'id'], instanceColumn: 'tenant' });
  });

  it('an instance column that is also a column of the records is refused when the config loads, where the columns are in it', () => {
    const http = { kind: 'http', url: 'https://x.example/api', records: 'data', pagination: { style: 'cursor', param: 'c', next: 'n' }, columns: { id: 'bigint', tenant: 'text', updated_at: 'timestamptz' } };
    const hint = 'the instance id would take its place; name the instance column otherwise (e.g. "tenant_id")';
    expect(issues({ integrations: [shop({ source: http }, { table: 'shared.orders', instanceColumn: 'tenant' })] })).toEqual([`integrations[0].sink.instanceColumn: "tenant" is also a column the source has: ${hint}`]);
    const table = { kind: 'postgres', url: '${secret.db}', table: 'public.orders', cursor: ['updated_at', 'id'], columns: ['id', 'tenant', 'updated_at'] };
    expect(issues({ integrations: [shop({ source: table }, { table: 'shared.orders', instanceColumn: 'tenant' })] })).toEqual([`integrations[0].sink.instanceColumn: "tenant" is also a column the source has: ${hint}`]);
    expect(issues({ integrations: [shop({ mapping: { id: 'id', tenant: 'owner', updated_at: 'updated_at' } }, { table: 'shared.orders', instanceColumn: 'tenant' })] })).toEqual([`integrations[0].sink.instanceColumn: "tenant" is also a column the mapping makes: ${hint}`]);
    // Columns not in the config (a whole table): the run's first step finds it (withInstanceColumn).
    expect(() => parseConfig({ integrations: [shop({}, { table: 'shared.orders', instanceColumn: 'tenant' })] })).not.toThrow();
  });

  it('encrypted secrets are decrypted into the run\'s own environment copy only', () => {
    const cipher = new SecretCipher(Buffer.from(KEY, 'base64'));
    const stored = cipher.encrypt('postgres://secret@db/x', secretAad('shop', 'acme', 'db'));
    expect(JSON.stringify(stored)).not.toContain('secret@db');
    const env = { TIDEMARK_ENCRYPTION_KEY: KEY };
    const r = instantiate(templateOf(config), { instanceId: 'acme', params: { region: 'eu' }, secrets: { db: stored } }, env);
    expect(r.integration.source).toMatchObject({ url: '${__TIDEMARK_SECRET_db}' });
    expect(r.env.__TIDEMARK_SECRET_db).toBe('postgres://secret@db/x');
    expect(env).not.toHaveProperty('__TIDEMARK_SECRET_db');
    // The ciphertext belongs to its row: on another instance it does not decrypt.
    expect(() => instantiate(templateOf(config), { instanceId: 'globex', params: { region: 'eu' }, secrets: { db: stored } }, env)).toThrow(/does not decrypt/);
  });

  it('a missing or unknown parameter or secret, and a value that makes a bad field, are clear errors', () => {
    const t = templateOf(config);
    expect(() => instantiate(t, { instanceId: 'acme', params: { zone: 'x' }, secrets: {} }, {})).toThrow(InstanceParamsError);
    expect(() => instantiate(t, { instanceId: 'acme', params: { zone: 'x' }, secrets: {} }, {})).toThrow(
      /missing parameter\(s\) region: template shop uses \$\{instance\.region\}; pass --param region=…; unknown parameter\(s\) zone: .*; missing secret\(s\) db/,
    );
    expect(() => instantiate(t, { instanceId: 'acme-co', params: { region: 'eu' }, secrets: { db: { env: 'X' } } }, {})).toThrow(/sink\.table: must be "table" or "schema\.table"/);
  });
});

describe('ids and schedules of instances', () => {
  it('Temporal ids map "/" to ".", which no id part contains', () => {
    expect(workflowIdFor('shop/acme')).toBe('tidemark-shop.acme');
    expect(scheduleIdFor('shop/acme')).toBe('tidemark-shop.acme-schedule');
    expect(workflowIdFor('orders')).toBe('tidemark-orders');
  });

  it('jitter: a deterministic offset per instance, spread over the interval', () => {
    const every = 300_000;
    expect(jitterOffset('shop/acme', every)).toBe(jitterOffset('shop/acme', every));
    const perSecond = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const o = jitterOffset(`shop/c${i}`, every);
      expect(o).toBeGreaterThanOrEqual(0);
      expect(o).toBeLessThan(every);
      perSecond.set(o, (perSecond.get(o) ?? 0) + 1);
    }
    // 1,000 instances over 300 seconds: spread out, never a burst in one second.
    expect(perSecond.size).toBeGreaterThan(250);
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(12);
    expect(instanceScheduleConfig({ every, offset: 290_000, overlap: 'skip', catchupWindow: 60_000, paused: false }, 'shop/acme')).toMatchObject({ offset: (290_000 + jitterOffset('shop/acme', every)) % every });
  });
});

describe('status --all', () => {
  it('lag: the time in the first value of the cursor, if it holds one', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    expect(lagOf(['2025-01-01 00:00:00.000123+00', '42'], now)).toBe(600);
    expect(lagOf({ from: '2025-01-01T00:09:00Z' }, now)).toBe(60);
    expect(lagOf(['42'], now)).toBeNull();
    expect(lagOf(null, now)).toBeNull();
  });

  it('lag: a sync that read to its bound is caught up to that bound, however old its cursor (an acceptance run: a quiet source read lagging)', () => {
    const now = Date.parse('2025-01-01T00:10:00Z');
    // The newest row is 10 minutes old, but the last sync read everything before 00:09:58.
    expect(lagOf(['2025-01-01 00:00:00+00', '42'], now, '2025-01-01 00:09:58.5+00')).toBe(2);
    // A bound older than the cursor (a run still under way) changes nothing; a bound that is no time neither (CSV).
    expect(lagOf(['2025-01-01 00:09:00+00', '42'], now, '2025-01-01 00:05:00+00')).toBe(60);
    expect(lagOf(['2025-01-01 00:09:00+00', '42'], now, '1200')).toBe(60);
    expect(lagOf(['42'], now, '2025-01-01 00:09:00+00')).toBe(60);
  });
});
