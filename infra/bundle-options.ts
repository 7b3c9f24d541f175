import type { BuildOptions } from 'esbuild';

/** The Lambda functions: bundle name and entry file (relative to the repository root). */
export const FUNCTIONS = [
  { name: 'proxy', entry: 'functions/proxy.ts' },
  { name: 'aggregator', entry: 'functions/aggregator.ts' },
  { name: 'stats', entry: 'functions/stats.ts' },
] as const;

/** The name of one Lambda function. */
export type FunctionName = (typeof FUNCTIONS)[number]['name'];

/**
 * esbuild settings shared by `npm run build` and the CDK's NodejsFunction bundling: ESM for Node 22, minified,
 * source maps, the AWS SDK bundled and tree-shaken rather than taken from the runtime.
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
} satisfies BuildOptions;
