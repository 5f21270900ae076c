/**
 * The worker as it ships, built into a temp dir by the steps of `npm run build` (`tsc -p tsconfig.build.json
 * --outDir <tmp>/dist`, then dist/dev/build-workflow-bundle.js) next to a copy of bin/tidemark.js and linked
 * node_modules: an install as `npm ci` or the Docker image leaves it. A snapshot: edits to the checkout while
 * the bench runs (which would send bin/tidemark.js in the checkout to tsx) do not change what is measured.
 */
export interface DistBuild {
    /** the compiled `dist` folder of the install (what `main` and bin/tidemark.js load) */
    dist: string;
    /** argv after `node` for the default `tidemark worker --config <file>` of the install (launcher, heap flags, prebuilt bundle) */
    install(configFile: string): string[];
    /** argv after `node` for a compiled worker given the prebuilt workflow bundle, without the launcher's settings, reporting process.memoryUsage() */
    prebundled(configFile: string): string[];
    cleanup(): void;
}
export declare function distBuild(repoRoot: string, log: (s: string) => void): Promise<DistBuild>;
export declare function cleanupDistBuild(): Promise<void>;
