import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { LlmGatewayStack } from './llm-gateway-stack';

/** `cdk deploy [-c config=gateway.yaml]`: the config defaults to ./gateway.yaml, else the bundled demo config. */
const app = new App();
const configured = app.node.tryGetContext('config') as string | undefined;
const configPath = resolve(
  configured ?? (existsSync('gateway.yaml') ? 'gateway.yaml' : join(__dirname, '..', 'local', 'demo.gateway.yaml')),
);
new LlmGatewayStack(app, app.node.tryGetContext('stackName') ?? 'LlmGateway', {
  configPath,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
