import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuiltBundle, buildBundles } from '../../infra/build-bundles';
import { FUNCTIONS } from '../../infra/bundle-options';

/**
 * Imports one bundle in a fresh Node process, as Lambda's runtime would: the streaming globals first, then the
 * module; prints the handler's type and the cold import time (ms).
 */
const IMPORT_SCRIPT = `
globalThis.awslambda = { streamifyResponse: (h) => h, HttpResponseStream: { from: (s) => s } };
const started = performance.now();
const mod = await import(process.argv[1]);
const ms = performance.now() - started;
console.log(JSON.stringify({ handler: typeof mod.handler, ms }));
`;

describe('the Lambda bundles (npm run build)', () => {
  let outDir: string;
  let bundles: BuiltBundle[];
  beforeAll(async () => {
    // A directory of its own, away from node_modules: the bundle must need nothing beside itself.
    outDir = mkdtempSync(join(tmpdir(), 'llm-gateway-bundles-'));
    bundles = await buildBundles(outDir);
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('builds one bundle per function', () => {
    expect(bundles.map((b) => b.name)).toEqual(FUNCTIONS.map((f) => f.name));
  });

  it.each(FUNCTIONS.map((f) => f.name))('loads the %s bundle in plain Node and exports a handler', (name) => {
    const bundle = bundles.find((b) => b.name === name) as BuiltBundle;

    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(bundle.path).href],
      {
        cwd: outDir,
        env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        encoding: 'utf8',
        timeout: 20_000,
      },
    );

    const { handler, ms } = JSON.parse(out.trim().split('\n').at(-1) as string) as { handler: string; ms: number };
    console.log(`${name}: ${(bundle.bytes / 1024).toFixed(0)} KiB, cold import ${ms.toFixed(0)} ms`);
    expect(handler).toBe('function');
  });
});
