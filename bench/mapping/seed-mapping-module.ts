/** The seed's six transforms as a mapping module (the module-hook row of bench/mapping-cost.ts). */
export const columns = { id: 'bigint', name: 'text', status: 'text', email: 'text', origin: 'text', synced_at: 'timestamp with time zone', profile: 'jsonb' };

export default {
  columns,
  map(r: Record<string, unknown>) {
    return {
      id: r.id,
      name: `${String(r.first_name)} ${String(r.last_name)}`,
      status: r.active ? 'active' : 'inactive',
      email: typeof r.email === 'string' ? r.email.toLowerCase() : null,
      origin: 'crm',
      synced_at: new Date().toISOString(),
      profile: { name: `${String(r.first_name)} ${String(r.last_name)}`, city: r.city, age: r.age, active: r.active },
    };
  },
};
