/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function, and by package.
 *
 *   node --cpu-prof --cpu-prof-dir /tmp/prof --import tsx bench/run.ts --rows 200000 --runs 1 --paths bare
 *   npx tsx bench/cpu-summary.ts /tmp/prof/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function where(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const m = /\/(src|bench|test)\/.*$/.exec(url);
  return m ? m[0].slice(1) : url;
}

function main(): void {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
  const files = args.filter((a, i) => !a.startsWith('--') && (topIdx < 0 || i !== topIdx + 1));
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    // Self time per node from samples × time deltas (µs).
    const self = new Map<number, number>();
    (p.samples ?? []).forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas?.[i] ?? 0)));
    for (const [id, us] of self) {
      const n = nodes.get(id)!;
      const name = n.callFrame.functionName || '(anonymous)';
      if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
        byFn.set(name, (byFn.get(name) ?? 0) + us);
        byPkg.set(name, (byPkg.get(name) ?? 0) + us);
        if (name !== '(idle)') total += us;
        continue;
      }
      const key = `${name}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
      byFn.set(key, (byFn.get(key) ?? 0) + us);
      const pkg = where(n.callFrame.url).replace(/:.*$/, '');
      byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
      total += us;
    }
  }
  const print = (title: string, m: Map<string, number>, n: number) => {
    console.log(`\n${title} (busy CPU ${(total / 1e6).toFixed(2)} s; idle excluded from shares)`);
    for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
      const share = k === '(idle)' ? '' : `${((us / total) * 100).toFixed(1).padStart(5)} %`;
      console.log(`${(us / 1e6).toFixed(3).padStart(8)} s ${share.padStart(7)}  ${k}`);
    }
  };
  print('self time by package / file', byPkg, 20);
  print('self time by function', byFn, top);
}

main();
