import { statSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, FUNCTIONS } from './bundle-options';

/** `npm run build`: one esbuild bundle per Lambda under dist/<name>/index.mjs, with sizes printed. */
async function main(): Promise<void> {
  for (const fn of FUNCTIONS) {
    const outfile = join('dist', fn.name, 'index.mjs');
    await build({ ...BUNDLE_OPTIONS, entryPoints: [fn.entry], outfile, logLevel: 'warning' });
    console.log(`${fn.name}: ${outfile} ${(statSync(outfile).size / 1024).toFixed(0)} KiB`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
