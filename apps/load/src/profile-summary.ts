// `tsx apps/load/src/profile-summary.ts <file.cpuprofile> [top]`: where a V8 CPU profile spent its time,
// by package (self time) and by function (self and inclusive), so hot spots are easy to name.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
}

/** `node_modules/@prisma/client/...` → `@prisma/client`; our sources by workspace folder. */
function packageOf(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node';
  const own = /(apps\/\w+|packages\/[\w-]+)\//.exec(url);
  return own ? own[1]! : url;
}

function summarize(profile: Profile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const total = profile.samples.length || 1;
  const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)} %`;
  const label = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${packageOf(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

  const selfByPackage = new Map<string, number>();
  const selfByFn = new Map<string, number>();
  const inclusiveByFn = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

  // Inclusive: each function counted once per stack, however often it recurses.
  function walk(node: ProfileNode, onStack: Set<string>): number {
    let hits = node.hitCount ?? 0;
    const key = label(node);
    const name = node.callFrame.functionName;
    const pkg = name.startsWith('(') ? name : packageOf(node.callFrame.url);
    add(selfByPackage, pkg, node.hitCount ?? 0);
    add(selfByFn, key, node.hitCount ?? 0);
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    for (const child of node.children ?? []) hits += walk(byId.get(child)!, onStack);
    if (fresh) {
      onStack.delete(key);
      add(inclusiveByFn, key, hits);
    }
    return hits;
  }
  walk(profile.nodes[0]!, new Set());

  const table = (title: string, m: Map<string, number>) =>
    [
      title,
      ...[...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, top)
        .map(([k, v]) => `  ${pct(v)}  ${k}`),
    ].join('\n');
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  return [
    `${total} samples over ${seconds.toFixed(1)} s`,
    table('Self time by package', selfByPackage),
    table('Self time by function', selfByFn),
    table('Inclusive time by function', inclusiveByFn),
  ].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: profile-summary <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(top ?? 25)));
}
