"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.shipped = shipped;
const node_path_1 = require("node:path");
const node_url_1 = require("node:url");
const dist_build_1 = require("./dist-build");
let loaded;
function shipped(repoRoot, log) {
    loaded ??= (async () => {
        const { dist } = await (0, dist_build_1.distBuild)(repoRoot, log);
        const load = async (rel) => {
            const m = (await import((0, node_url_1.pathToFileURL)((0, node_path_1.join)(dist, rel)).href));
            return m.default ?? m;
        };
        const [a, c, h] = await Promise.all([load('activities/index.js'), load('config/index.js'), load('sources/http/index.js')]);
        return { createActivities: a.createActivities, parseConfig: c.parseConfig, createHttpSource: h.createHttpSource };
    })();
    return loaded;
}
//# sourceMappingURL=shipped.js.map