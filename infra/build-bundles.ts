import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, FUNCTIONS, type FunctionName } from './bundle-options';

const ROOT = join(__dirname, '..');

/** One built bundle: its function, path and size in bytes. */
export interface BuiltBundle {
  name: FunctionName;
  path: string;
  bytes: number;
}

/** Builds one esbuild bundle per Lambda under `<outDir>/<name>/index.mjs` (source map beside it). */
export async function buildBundles(outDir: string): Promise<BuiltBundle[]> {
  const built: BuiltBundle[] = [];
  for (const fn of FUNCTIONS) {
    const path = join(outDir, fn.name, 'index.mjs');
    await build({ ...BUNDLE_OPTIONS, entryPoints: [join(ROOT, fn.entry)], outfile: path, logLevel: 'warning' });
    built.push({ name: fn.name, path, bytes: statSync(path).size });
  }
  return built;
}

/** `npm run build`: the bundles under dist/, with sizes printed. */
async function main(): Promise<void> {
  for (const bundle of await buildBundles(join(ROOT, 'dist'))) {
    console.log(`${bundle.name}: ${bundle.path} ${(bundle.bytes / 1024).toFixed(0)} KiB`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
