import { describe, expect, it } from 'vitest';
import { cronProblem } from '../../src/config/cron';
import { parseConfig } from '../../src/config';

describe('cron expressions checked before Temporal sees them', () => {
  it.each(['*/5 * * * *', '0 3 * * MON-FRI', '0 0 1 jan *', '0,15,30,45 * * * *', '0 0 * * 7', '30 2 1-15/2 * SUN', '@hourly', '@daily', '@every 10m', '@every 1h30m', 'CRON_TZ=Europe/Berlin 0 3 * * *', '? * * * *'])('takes %s', (expr) => {
    expect(cronProblem(expr)).toBeUndefined();
  });

  it.each([
    ['bogus cron', /has 2 fields, not 5/],
    ['60 * * * *', /minute "60": "60" is outside 0-59/],
    ['* 24 * * *', /hour "24"/],
    ['* * 0 * *', /day of month "0"/],
    ['* * * 13 *', /month "13".*JAN-DEC/],
    ['* * * * MOO', /day of week "MOO".*SUN-SAT/],
    ['5-1 * * * *', /runs backwards/],
    ['*/0 * * * *', /a step of 0/],
    ['1-2-3 * * * *', /not a number, a range/],
    ['@weekdays', /unknown descriptor "@weekdays"/],
    ['0 */5 * * * *', /has 6 fields, not 5/],
  ])('refuses %s, saying why', (expr, why) => {
    const problem = cronProblem(expr);
    expect(problem).toMatch(why);
    expect(problem).toMatch(/e\.g\. "\*\/5 \* \* \* \*"/);
  });

  it('a schedule also takes the six- and seven-field forms (seconds, year)', () => {
    expect(cronProblem('0 */5 * * * *', true)).toBeUndefined();
    expect(cronProblem('0 0 12 * * ? 2027', true)).toBeUndefined();
    expect(cronProblem('a b c d e f g h', true)).toMatch(/has 8 fields, not 5 \(or 6-7/);
  });

  it("a config's schedule cron is checked when the config loads, naming the field and the value", () => {
    const cfg = (cron: string) => ({ integrations: [{ id: 'o', source: { kind: 'postgres', url: 'x', table: 't', cursor: ['id'] }, sink: { table: 'c', key: ['id'] }, schedule: { cron } }] });
    expect(() => parseConfig(cfg('bogus cron'))).toThrow(/integrations\[0\]\.schedule\.cron: "bogus cron" has 2 fields, not 5/);
    expect(parseConfig(cfg('*/5 * * * *')).integrations[0]?.schedule).toMatchObject({ cron: '*/5 * * * *' });
  });
});
