import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { sql } from '../../helpers/fixtures';
import { createTestDatabase, type TestDatabase } from '../../setup/database';

/**
 * The target database of a fake-API test file: created once, emptied of the synced schema and
 * tidemark's state before each test, and `closeApi` (the test's fake server) run after each.
 */
export function useFakeApiTarget(name: string, closeApi: () => Promise<void>): { readonly url: string } {
  let dst: TestDatabase | undefined;
  beforeAll(async () => {
    dst = await createTestDatabase(name);
  });
  afterAll(async () => {
    await dst?.drop();
  });
  beforeEach(async () => {
    await sql((dst as TestDatabase).url, 'DROP SCHEMA IF EXISTS api CASCADE; DROP SCHEMA IF EXISTS tidemark CASCADE');
  });
  afterEach(closeApi);
  return {
    get url() {
      return (dst as TestDatabase).url;
    },
  };
}
