import { join } from 'node:path';
import { isConfigError } from '../shared/config/config-error';
import { loadConfigFile, resolveConfigPath } from '../shared/config/load-config';
import { secretReferences } from '../shared/config/resolve-secrets';
import { consoleLog } from './console-log';
import { type DemoProviders, startDemoProviders } from './demo-providers';
import { type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local';
import { startLocalRuntime } from './local-runtime';

/** `npm start`: DynamoDB Local + (demo providers) + the gateway on http://127.0.0.1:8080. */
async function main(): Promise<void> {
  // Node 20 is supported here; the SDK's notice about future versions is noise in a local log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const log = consoleLog(process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info');
  const { path, source } = resolveConfigPath(process.env, process.cwd(), join(__dirname, 'demo.gateway.yaml'));
  let demo: DemoProviders | undefined;
  let dynamo: DynamoDbLocal | undefined;
  const env = { ...process.env };
  if (source === 'demo') {
    demo = await startDemoProviders();
    Object.assign(env, demo.env);
    log.info(`Demo providers: demo-primary (flaky) at ${demo.primary.url}, demo-backup at ${demo.backup.url}`);
  }
  const config = loadConfigFile(path, env);
  const secrets = secretReferences(config);
  if (secrets.length > 0) {
    throw new Error(
      `${secrets.map((s) => s.name).join(', ')}: "secret:" provider keys resolve only in AWS; locally use \${ENV_VAR} instead`,
    );
  }
  log.info(`Config: ${source === 'demo' ? 'bundled demo config' : path}`);
  if (config.apiKeys.length === 0) {
    log.warn('No apiKeys configured: the gateway accepts requests without a gateway key (fine locally, not in AWS)');
  }

  let endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (!endpoint) {
    dynamo = await startDynamoDbLocal({
      port: process.env.DYNAMODB_PORT ? Number(process.env.DYNAMODB_PORT) : undefined,
    });
    endpoint = dynamo.endpoint;
    log.info(`DynamoDB Local (embedded) at ${endpoint}`);
  } else {
    log.info(`DynamoDB at ${endpoint}`);
  }
  const runtime = await startLocalRuntime({
    config,
    dynamoEndpoint: endpoint,
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? '127.0.0.1',
    log,
  });
  log.info(`llm-gateway listening on ${runtime.url}`);
  log.info(
    `Try: curl -s ${runtime.url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('Stopping…');
    await runtime.close();
    await demo?.close();
    await dynamo?.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error) => {
  process.stderr.write(
    `${isConfigError(error) ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
