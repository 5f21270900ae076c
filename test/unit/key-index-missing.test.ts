import { describe, expect, it } from 'vitest';
import { keyIndexMissing } from '../../src/sinks/sink-setup-problem';
import type { KeyNotes } from '../../src/sources/postgres/describe-table';

const cfg = { table: 'public.t', key: ['tenant_id', 'email'] };
const notes = (n: Partial<KeyNotes>): KeyNotes => ({ deferrable: [], unusable: [], ...n });

describe('keyIndexMissing: the fix named for each shape of the target', () => {
  it('a plain unique index on the key columns in any order serves it', () => {
    expect(keyIndexMissing({ uniqueKeys: [['email', 'tenant_id']], keyNotes: notes({}) }, cfg)).toBeUndefined();
  });

  it('an invalid index on the key is named with how to fix it; an expression index never matches plain key columns', () => {
    const invalid = keyIndexMissing({ uniqueKeys: [], keyNotes: notes({ unusable: [{ columns: ['tenant_id', 'email'], index: 't_u', why: 'invalid' }] }) }, cfg);
    expect(invalid).toBe(
      'public.t has no primary key or unique index on (tenant_id, email), which the upsert needs (t_u is invalid, not enforced (a failed CREATE UNIQUE INDEX CONCURRENTLY): drop it and create it again): CREATE UNIQUE INDEX ON public.t (tenant_id, email)',
    );
    const expression = keyIndexMissing({ uniqueKeys: [], keyNotes: notes({ unusable: [{ columns: ['tenant_id', 'lower(email)'], index: 't_lower', why: 'expression' }] }) }, { table: 'public.t', key: ['tenant_id'] });
    expect(expression).toBe('public.t has no primary key or unique index on (tenant_id), which the upsert needs: CREATE UNIQUE INDEX ON public.t (tenant_id)');
  });

  it('a DEFERRABLE primary key is recreated as a primary key; a partitioned table asks for its partition key', () => {
    expect(keyIndexMissing({ uniqueKeys: [], keyNotes: notes({ deferrable: [{ columns: ['email', 'tenant_id'], constraint: 't_pkey', primary: true }] }) }, cfg)).toBe(
      "public.t's primary key t_pkey on (tenant_id, email) is DEFERRABLE, which the upsert (ON CONFLICT) cannot use, even beside another unique index on the same columns: recreate it NOT DEFERRABLE (ALTER TABLE public.t DROP CONSTRAINT t_pkey, ADD CONSTRAINT t_pkey PRIMARY KEY (tenant_id, email))",
    );
    expect(keyIndexMissing({ uniqueKeys: [['tenant_id', 'email', 'day']], keyNotes: notes({ partitionKey: ['day'] }) }, cfg)).toBe(
      'public.t has no primary key or unique index on (tenant_id, email), which the upsert needs; a unique index of a partitioned table must include its partition key (day): set sink.key to [tenant_id, email, day]',
    );
  });
});
