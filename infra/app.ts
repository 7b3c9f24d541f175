import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isConfigError } from '../shared/config/config-error';
import { DeployConfigError } from './deploy-config';
import { LlmGatewayStack } from './llm-gateway-stack';

/**
 * `cdk deploy [-c config=gateway.yaml] [-c stackName=LlmGateway] [-c alertEmail=ops@example.com]
 * [-c allowOpenGateway=true]`: the config defaults to ./gateway.yaml, else the bundled demo config. cdk-nag's
 * AwsSolutions checks run on every synth; an unacknowledged finding fails it.
 */
const app = new App();
const configured = app.node.tryGetContext('config') as string | undefined;
const configPath = resolve(
  configured ?? (existsSync('gateway.yaml') ? 'gateway.yaml' : join(__dirname, '..', 'local', 'demo.gateway.yaml')),
);
try {
  new LlmGatewayStack(app, app.node.tryGetContext('stackName') ?? 'LlmGateway', {
    configPath,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
} catch (error) {
  // A config problem is the user's to fix: say what, without a stack trace.
  if (!(error instanceof DeployConfigError) && !isConfigError(error)) throw error;
  console.error(`${error.name}: ${error.message}`);
  process.exit(1);
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
