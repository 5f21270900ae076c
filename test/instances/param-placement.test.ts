import { describe, expect, it } from 'vitest';
import { parseConfig, type Template } from '../../src/config';
import { addInstance, InstanceParamsError, instantiate } from '../../src/instances';

/**
 * An instance's parameters are pasted into its template's strings. Where they build a request (a URL, a JSONata
 * template, SQL, a file path) a value could send it, and the tenant's credentials, elsewhere: an acceptance run's
 * `subdomain=127.0.0.1:18704/steal?` did. Such values are refused when the instance is added, and again when it
 * runs (a row stored by an older version); headers, source.params (encoded) and timeZone take any text.
 */
const config = parseConfig({
  integrations: [
    {
      id: 'tickets',
      template: true,
      source: {
        kind: 'http',
        url: 'https://${instance.subdomain}.zendesk.example/api/v2/${instance.section}/tickets',
        headers: { Authorization: 'Bearer ${secret.token}', 'X-Account-Name': '${instance.label}' },
        params: { owner: '${instance.owner}' },
        records: '.',
        pagination: { style: 'link_header', maxPageSize: 100 },
        request: { params: { team: "'${instance.team}'", per_page: '$limit', since: '$since' } },
        columns: { id: 'bigint', updated_at: 'timestamptz' },
      },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'support.tickets', key: ['id'], instanceColumn: 'tenant', create: true },
    },
    {
      id: 'shop',
      template: true,
      source: { kind: 'postgres', url: '${secret.token}', table: 'public.orders', cursor: ['updated_at', 'id'], timeZone: '${instance.tz}' },
      sink: { kind: 'postgres', url: '${DST_URL}', table: 'shop.orders', key: ['id'], instanceColumn: 'tenant', create: true },
    },
  ],
});
const t = config.templates?.[0] as Template;
const good = { subdomain: 'acme', section: 'v2-eu', label: 'Acme Corp, "EU" desk', owner: 'ops@acme.example', team: 'support_1' };
const row = (params: Record<string, string>) => ({ instanceId: 'acme', params, secrets: { token: { env: 'ACME_TOKEN' } } });

function problemsOf(params: Record<string, string>): string[] {
  try {
    instantiate(t, row(params), {});
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(InstanceParamsError);
    return (err as InstanceParamsError).problems;
  }
}

describe('where instance parameters may go', () => {
  it('plain values go anywhere; free text (spaces, quotes, "@", "/") only into headers, source.params and timeZone', () => {
    const { integration } = instantiate(t, row(good), {});
    expect(integration.source).toMatchObject({ url: 'https://acme.zendesk.example/api/v2/v2-eu/tickets', headers: { 'X-Account-Name': 'Acme Corp, "EU" desk' }, params: { owner: 'ops@acme.example' } });
    const shop = config.templates?.[1] as Template;
    expect(instantiate(shop, row({ tz: 'America/Argentina/Buenos_Aires' }), {}).integration.source).toMatchObject({ timeZone: 'America/Argentina/Buenos_Aires' });
  });

  it('a value that would move the request elsewhere is refused, naming the parameter, the field and what is allowed', () => {
    const [hostile] = problemsOf({ ...good, subdomain: '127.0.0.1:18704/steal?' });
    expect(hostile).toBe(
      'parameter subdomain="127.0.0.1:18704/steal?" may not go into source.url: a value used in a URL, a path, an expression or a query may hold only letters, digits and . _ ~ - (not starting with "."), since "/", "?", "#", "@", ":" or ".." would send the request, and the instance\'s credentials, elsewhere; free text belongs in headers or source.params',
    );
    for (const section of ['..', '../admin', 'a/b', 'x#', 'u@h', 'a?b=1', '.hidden', 'a b', 'x%2f']) expect(problemsOf({ ...good, section }), section).toHaveLength(1);
    // A JSONata template: a quote would end the string and the rest would run as the expression.
    expect(problemsOf({ ...good, team: "x' & $string(1) & '" })[0]).toMatch(/^parameter team="x' & \$string\(1\) & '" may not go into source\.request\.params\.team: /);
    // Free-text places refuse only control characters: a line break would start another header.
    const free = 'it holds a control character (a line break would start another header), "$" or "{" (which could make a ${NAME} reference to the workers\' environment)';
    expect(problemsOf({ ...good, label: 'Acme\r\nX-Forwarded-Host: evil' })).toEqual([`parameter label="Acme\\r\\nX-Forwarded-Host: evil" may not go into source.headers.X-Account-Name: ${free}`]);
    // Two values side by side would make a reference the worker resolves: "$" and "{" are refused in free text too.
    expect(problemsOf({ ...good, label: '$', owner: '{TIDEMARK_ENCRYPTION_KEY}' })).toEqual([
      `parameter label="$" may not go into source.headers.X-Account-Name: ${free}`,
      `parameter owner="{TIDEMARK_ENCRYPTION_KEY}" may not go into source.params.owner: ${free}`,
    ]);
  });

  it('free only where the path is exactly a data field: auth user names, client ids, scopes and audiences are; tokenUrl, a mapping\'s timeZone column are not', () => {
    const oauth = parseConfig({
      integrations: [
        {
          id: 'crm',
          template: true,
          source: {
            kind: 'http',
            url: 'https://api.crm.example/v1/contacts',
            auth: { type: 'oauth2', grant: 'client_credentials', tokenUrl: 'https://${instance.tenant}.auth.example/oauth/token', clientId: '${instance.client}', clientSecret: '${secret.cs}', scopes: ['${instance.scope}'], audience: '${instance.audience}' },
            records: 'results',
            pagination: { style: 'cursor', param: 'after', next: 'paging.next.after' },
            columns: { id: 'bigint', updated_at: 'timestamptz' },
          },
          mapping: { id: 'id', updated_at: 'updated_at', timeZone: "='${instance.zone}'" },
          sink: { kind: 'postgres', url: '${DST_URL}', table: 'crm.contacts', key: ['id'], instanceColumn: 'tenant', create: true },
        },
      ],
    }).templates?.[0] as Template;
    const values = { tenant: 'acme', client: 'acme app@crm', scope: 'crm.objects.contacts.read', audience: 'https://api.crm.example/', zone: 'UTC' };
    const stored = { instanceId: 'acme', params: values, secrets: { cs: { env: 'CS' } } };
    expect(instantiate(oauth, stored, {}).integration.source).toMatchObject({ auth: { clientId: 'acme app@crm', audience: 'https://api.crm.example/' } });
    const refused = (over: Record<string, string>) => {
      try {
        instantiate(oauth, { ...stored, params: { ...values, ...over } }, {});
        return [];
      } catch (err) {
        return (err as InstanceParamsError).problems.map((p) => p.slice(0, p.indexOf(':')));
      }
    };
    expect(refused({ tenant: 'evil.example/x?' })).toEqual(['parameter tenant="evil.example/x?" may not go into source.auth.tokenUrl']);
    expect(refused({ zone: "x' & 'y" })).toEqual(['parameter zone="x\' & \'y" may not go into mapping.timeZone']);
  });

  it('`instances add` refuses it before anything is stored', async () => {
    const add = addInstance({ config, template: 'tickets', instance: 'evil', params: { ...good, subdomain: 'attacker.example/x?' }, secrets: { token: { env: 'ACME_TOKEN' } }, env: { DST_URL: 'postgres://127.0.0.1:1/none' } });
    await expect(add).rejects.toThrow(InstanceParamsError);
    await expect(add).rejects.toThrow(/subdomain="attacker\.example\/x\?" may not go into source\.url/);
  });

  it("`instances add` refuses the worker's own variables as a customer's secret (its key would go to the API as a token)", async () => {
    for (const name of ['TIDEMARK_ENCRYPTION_KEY', 'DATABASE_URL', 'TEMPORAL_ADDRESS', 'PGPASSWORD', 'OAUTH_REFRESH_TOKEN']) {
      const add = addInstance({ config, template: 'tickets', instance: 'keyleak', params: good, secrets: { token: { env: name } }, env: { DST_URL: 'postgres://127.0.0.1:1/none' } });
      await expect(add, name).rejects.toThrow(new RegExp(`secret token: ${name} is tidemark's own setting, not a customer's secret`));
    }
    // A row stored before this check does not run with it either.
    expect(() => instantiate(config.templates!.find((t) => t.id === 'tickets')!, { instanceId: 'old', params: good, secrets: { token: { env: 'TIDEMARK_ENCRYPTION_KEY' } } }, {})).toThrow(/secret token: TIDEMARK_ENCRYPTION_KEY is tidemark's own setting/);
  });
});
