import { readFileSync } from 'node:fs';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { closestName, freeNames, JSONATA_FUNCTIONS } from '../../src/config/jsonata-names';

describe('JSONata names known to mapping expressions', () => {
  it('the function list is exactly what the installed jsonata binds, and each evaluates to a function', async () => {
    const source = readFileSync(require.resolve('jsonata'), 'utf8');
    const bound = new Set([...source.matchAll(/\.bind\('(\w+)'/g)].map((m) => m[1]));
    expect(new Set(JSONATA_FUNCTIONS)).toEqual(bound);
    for (const name of JSONATA_FUNCTIONS) expect(await jsonata(`$type($${name})`).evaluate({}), name).toBe('function');
    expect(await jsonata('$type($nosuch)').evaluate({})).toBeUndefined();
  });

  it('freeNames: variables read and functions called, less what the expression binds', () => {
    const names = (text: string) => {
      const { variables, functions } = freeNames(jsonata(text).ast());
      return { variables: variables.map((v) => v.name), functions: functions.map((f) => f.name) };
    };
    expect(names('$lower($email) & $$.x & $.y')).toEqual({ variables: ['email'], functions: ['lower'] });
    expect(names('($f := function($v) { $v + $k }; $f(1))')).toEqual({ variables: ['k'], functions: [] });
    expect(names('$map(a, $string)')).toEqual({ variables: ['string'], functions: ['map'] });
    // Positional and context bindings name their variable on the path step (found by review).
    expect(names('lines#$i[$i = 0].sku')).toEqual({ variables: [], functions: [] });
    expect(names('Account.Order@$o.Product.($o.OrderID & $p)')).toEqual({ variables: ['p'], functions: [] });
  });

  it('closestName suggests within two edits, else nothing', () => {
    expect(closestName('lowr', ['lower', 'upper'])).toBe('lower');
    expect(closestName('Upercase', ['uppercase', 'lowercase'])).toBe('uppercase');
    expect(closestName('frobnicate', ['lower', 'upper'])).toBeUndefined();
  });
});
