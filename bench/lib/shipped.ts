import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ActivitiesModule from '../../src/activities';
import type * as ConfigModule from '../../src/config';
import type * as HttpSourceModule from '../../src/sources/http';
import { distBuild } from './dist-build';

/**
 * What the in-process paths (the bare loop, the upserts, mapping, the HTTP paths) run: the activities, the config
 * parser and the HTTP source of the install as it ships (compiled by tsc, bench/lib/dist-build.ts), as the default
 * worker runs them, not the checkout through tsx: its CommonJS output calls an imported function through a getter
 * per call (9.5 % of the COPY conversion's CPU, profiled), which the shipped build does not.
 */
export interface Shipped {
  createActivities: typeof ActivitiesModule.createActivities;
  parseConfig: typeof ConfigModule.parseConfig;
  createHttpSource: typeof HttpSourceModule.createHttpSource;
}

let loaded: Promise<Shipped> | undefined;

export function shipped(repoRoot: string, log: (s: string) => void): Promise<Shipped> {
  loaded ??= (async () => {
    const { dist } = await distBuild(repoRoot, log);
    const load = async <T>(rel: string): Promise<T> => {
      const m = (await import(pathToFileURL(join(dist, rel)).href)) as T & { default?: T };
      return m.default ?? m;
    };
    const [a, c, h] = await Promise.all([load<typeof ActivitiesModule>('activities/index.js'), load<typeof ConfigModule>('config/index.js'), load<typeof HttpSourceModule>('sources/http/index.js')]);
    return { createActivities: a.createActivities, parseConfig: c.parseConfig, createHttpSource: h.createHttpSource };
  })();
  return loaded;
}
