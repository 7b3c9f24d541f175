import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS, FUNCTIONS } from '../infra/bundle-options';
import { percentile, round } from './load';

/** One Lambda bundle: its size and how long Node takes to import it in a fresh process. */
export interface BundleColdStart {
  name: string;
  bytes: number;
  gzipBytes: number;
  sourceMapBytes: number;
  /** Import of the bundle alone (ms, median of `runs` fresh processes). */
  importMs: number;
  importMinMs: number;
  /** From process start to the handler being ready (ms, median): Node's own start-up plus the import. */
  readyMs: number;
  /** The same import with `NODE_OPTIONS=--enable-source-maps`, as the stack deploys it (ms, median). */
  importWithSourceMapsMs: number;
  runs: number;
}

/** Runs in a fresh `node`: the Lambda runtime's streaming global, then the bundle's import, timed. */
const IMPORT_SCRIPT = `
globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
const t0 = performance.now();
const m = await import(process.env.BUNDLE_URL);
const t1 = performance.now();
if (typeof m.handler !== 'function') throw new Error('no handler export');
process.stdout.write(JSON.stringify({ importMs: t1 - t0, readyMs: t1 }));
`;

function timeImport(bundlePath: string, sourceMaps: boolean): Promise<{ importMs: number; readyMs: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', IMPORT_SCRIPT],
      {
        // A clean environment like Lambda's: no table names or config needed to import (they are read lazily).
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', BUNDLE_URL: pathToFileURL(bundlePath).href },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`importing ${bundlePath} failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout) as { importMs: number; readyMs: number });
      },
    );
  });
}

/**
 * Cold start: builds each Lambda bundle with the deploy's esbuild settings (infra/bundle-options.ts) into a temporary
 * folder, then imports each in `runs` fresh Node processes, with and without source maps enabled.
 */
export async function measureColdStart(runs = 5): Promise<BundleColdStart[]> {
  const outDir = mkdtempSync(join(tmpdir(), 'llm-gateway-bench-bundles-'));
  const results: BundleColdStart[] = [];
  try {
    for (const fn of FUNCTIONS) {
      const path = join(outDir, fn.name, 'index.mjs');
      await build({
        ...BUNDLE_OPTIONS,
        entryPoints: [join(__dirname, '..', fn.entry)],
        outfile: path,
        logLevel: 'error',
      });
      const plain: { importMs: number; readyMs: number }[] = [];
      const mapped: { importMs: number; readyMs: number }[] = [];
      await timeImport(path, false); // warms the file cache, as a provisioned sandbox would have it
      for (let i = 0; i < runs; i++) {
        plain.push(await timeImport(path, false));
        mapped.push(await timeImport(path, true));
      }
      results.push({
        name: fn.name,
        bytes: statSync(path).size,
        gzipBytes: gzipSync(readFileSync(path)).length,
        sourceMapBytes: statSync(`${path}.map`).size,
        importMs: percentile(
          plain.map((r) => r.importMs),
          50,
        ),
        importMinMs: round(Math.min(...plain.map((r) => r.importMs))),
        readyMs: percentile(
          plain.map((r) => r.readyMs),
          50,
        ),
        importWithSourceMapsMs: percentile(
          mapped.map((r) => r.importMs),
          50,
        ),
        runs,
      });
    }
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
  return results;
}
