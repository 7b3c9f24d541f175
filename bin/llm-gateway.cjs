#!/usr/bin/env node
// The `llm-gateway` command: registers tsx so the TypeScript CLI runs without a build step, then runs it.
require('tsx/cjs');
const { join } = require('node:path');
const { runCli } = require(join(__dirname, '..', 'local', 'cli.ts'));

runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`llm-gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 2;
  },
);
