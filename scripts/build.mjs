// `npm run build`: each process bundled to plain JavaScript (dist/api.js, dist/worker.js, dist/sim.js,
// dist/cli.js), so production runs node on JS: no tsx, whose loader thread holds a V8 heap of its own
// (~40 MiB per process). The workspace packages are bundled; npm packages stay external, loaded from
// node_modules as under tsx. Tests and the `start:*` scripts keep running the TypeScript sources.
//   node scripts/build.mjs [--if-stale]   (--if-stale: only when dist/ is missing or older than a source)
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist');
const ENTRIES = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
  sim: 'packages/twilio-sim/src/main.ts',
  cli: 'apps/cli/src/main.ts',
};
/** When the last build began and the source files it read (esbuild's metafile), to tell when it is stale. */
const INPUTS = join(OUT, 'inputs.json');
/** What else shapes the bundles: where npm put the packages they import, and this script. */
const ALSO = ['package-lock.json', 'scripts/build.mjs'];

/** A path as a URL relative to a bundle in dist/. */
const fromBundle = (path) => relative(OUT, path).split(sep).join('/');
const RESOLVING = Symbol('resolving');

const workspace = {
  name: 'smsq-workspace',
  setup(build) {
    // npm packages stay external; the workspace packages (@smsq/*) and relative imports are bundled.
    build.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@smsq/') || args.kind === 'entry-point' || args.pluginData === RESOLVING) return;
      const found = await build.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        pluginData: RESOLVING,
      });
      if (found.errors.length > 0 || found.external) return found;
      // A package npm installed inside a workspace (apps/api/node_modules/ajv, another version than the
      // root's) is not the one node would find from dist/: the bundle imports that very file instead.
      const hoisted = found.path.startsWith(join(ROOT, 'node_modules', sep));
      return { path: hoisted ? args.path : fromBundle(found.path), external: true };
    });
    // In a bundle import.meta.url is the bundle's, so what a source file finds relative to its own location
    // (the Lua scripts beside it, the CLI's migrations folder, packages for createRequire) would be looked
    // up from dist/ instead. Each workspace module's import.meta.url is made its source file's URL again
    // (relative to the bundle, so the checkout can move): the bundle finds what the sources find, in the
    // checkout it was built in (dist/ stays in the repository, as in the image).
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return;
      const source = `new URL(${JSON.stringify(fromBundle(args.path))}, import.meta.url).href`;
      return { contents: text.replace(/\bimport\.meta\.url\b/g, source), loader: 'ts' };
    });
  },
};

/** True when a bundle is missing, or a file it was built from changed (or went) since the build began. */
function isStale() {
  const bundles = Object.keys(ENTRIES).map((name) => join(OUT, `${name}.js`));
  if (!existsSync(INPUTS) || !bundles.every((f) => existsSync(f))) return true;
  const { startedAt, inputs } = JSON.parse(readFileSync(INPUTS, 'utf8'));
  return [...inputs, ...ALSO].some((f) => !existsSync(join(ROOT, f)) || statSync(join(ROOT, f)).mtimeMs > startedAt);
}

async function build() {
  const startedAt = Date.now();
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: OUT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // With no conditions of its own esbuild also honours "module", which node does not.
    conditions: [],
    // For `node --enable-source-maps`; the sources themselves are in the checkout.
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'warning',
    plugins: [workspace],
  });
  // Each file written beside and renamed into place: a process starting from dist/ meanwhile (another
  // bench or load run) reads the old bundle or the new one, never half of one.
  mkdirSync(OUT, { recursive: true });
  const files = [
    ...result.outputFiles.map((f) => ({ path: f.path, contents: f.contents })),
    { path: INPUTS, contents: JSON.stringify({ startedAt, inputs: Object.keys(result.metafile.inputs) }, null, 1) },
  ];
  for (const { path, contents } of files) {
    writeFileSync(`${path}.${process.pid}.tmp`, contents);
    renameSync(`${path}.${process.pid}.tmp`, path);
  }
}

/** Builds dist/ unless it is up to date with its sources; true when it built. */
export async function buildIfStale() {
  if (!isStale()) return false;
  await build();
  return true;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const started = Date.now();
  if (process.argv.includes('--if-stale') ? await buildIfStale() : (await build(), true)) {
    console.error(`built dist/{${Object.keys(ENTRIES).join(',')}}.js in ${Date.now() - started} ms`);
  }
}
