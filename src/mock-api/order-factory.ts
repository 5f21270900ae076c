import { intBetween, pick, type Rng } from './rng';

/** One order as the mock API serves it: nested customer and address, line items, money as decimal strings. */
export interface Order {
  id: number;
  number: string;
  status: string;
  currency: string;
  total: string;
  customer: { id: string; name: string; email: string; address: { street: string; city: string; postcode: string; country: string } };
  items: Array<{ sku: string; name: string; quantity: number; unit_price: string }>;
  note: string | null;
  created_at: string;
  updated_at: string;
  version: number;
}

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim', 'Margaret', 'Linus', 'Zoë', 'José', 'Åsa'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee', 'Hamilton', "O'Neil", 'Müller'];
const PLACES: Array<[string, string, string]> = [
  ['Lisbon', 'PT', '1100-'],
  ['Berlin', 'DE', '10'],
  ['Paris', 'FR', '750'],
  ['Oslo', 'NO', '0'],
  ['Austin', 'US', '787'],
  ['Kraków', 'PL', '30-'],
  ['São Paulo', 'BR', '01'],
];
const STREETS = ['Harbour Rd', 'Main St', 'Rua Augusta', 'Unter den Linden', 'Karl Johans gate', 'Elm Avenue'];
const PRODUCTS: Array<[string, number]> = [
  ['Tide chart', 1299],
  ['Brass compass', 4550],
  ['Rope, 10 m', 1875],
  ['Lantern', 3200],
  ['Sea salt', 499],
  ['Oilskin jacket', 12900],
  ['Logbook', 950],
];
const NOTES = [null, null, null, 'Leave at the door', 'Gift:\t"wrap" it\nthanks', 'back\\slash and ünïcödé ✓', 'fragile — handle with care', ''];
export const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'refunded', 'cancelled'];

const money = (cents: number) => `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;

export function newOrder(rng: Rng, id: number, createdMs: number, updatedMs: number): Order {
  const first = pick(rng, FIRST);
  const last = pick(rng, LAST);
  const [city, country, zip] = pick(rng, PLACES);
  const customerNo = intBetween(rng, 1, 5000);
  const order: Order = {
    id,
    number: `SO-${String(id).padStart(7, '0')}`,
    status: pick(rng, STATUSES.slice(0, 4)),
    currency: pick(rng, ['EUR', 'USD', 'GBP']),
    total: '0.00',
    customer: {
      id: `cus_${String(customerNo).padStart(5, '0')}`,
      name: `${first} ${last}`,
      email: `${first}.${last}@example.com`.toLowerCase().replace(/[^a-z0-9.@-]/g, ''),
      address: { street: `${intBetween(rng, 1, 250)} ${pick(rng, STREETS)}`, city, postcode: `${zip}${intBetween(rng, 100, 999)}`, country },
    },
    items: Array.from({ length: intBetween(rng, 1, 4) }, () => {
      const [name, price] = pick(rng, PRODUCTS);
      return { sku: `SKU-${String(PRODUCTS.findIndex((p) => p[0] === name) + 1).padStart(4, '0')}`, name, quantity: intBetween(rng, 1, 5), unit_price: money(price) };
    }),
    note: pick(rng, NOTES),
    created_at: new Date(createdMs).toISOString(),
    updated_at: new Date(updatedMs).toISOString(),
    version: 1,
  };
  return withTotal(order);
}

/** A realistic change: status moves on, sometimes the address, a note or the items. */
export function changeOrder(rng: Rng, o: Order, updatedMs: number): Order {
  const next: Order = structuredClone(o);
  const at = STATUSES.indexOf(o.status);
  next.status = rng() < 0.1 ? pick(rng, ['refunded', 'cancelled']) : (STATUSES[Math.min(at + 1, 3)] as string);
  if (rng() < 0.2) next.customer.address.street = `${intBetween(rng, 1, 250)} ${pick(rng, STREETS)}`;
  if (rng() < 0.2) next.note = pick(rng, NOTES);
  if (rng() < 0.3 && next.items[0]) next.items[0].quantity = intBetween(rng, 1, 9);
  next.version = o.version + 1;
  next.updated_at = new Date(updatedMs).toISOString();
  return withTotal(next);
}

function withTotal(o: Order): Order {
  const cents = o.items.reduce((sum, it) => sum + it.quantity * Math.round(Number(it.unit_price) * 100), 0);
  o.total = money(cents);
  return o;
}
