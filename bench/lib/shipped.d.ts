import type * as ActivitiesModule from '../../src/activities';
import type * as ConfigModule from '../../src/config';
import type * as HttpSourceModule from '../../src/sources/http';
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
export declare function shipped(repoRoot: string, log: (s: string) => void): Promise<Shipped>;
