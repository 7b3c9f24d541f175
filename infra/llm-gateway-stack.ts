import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ALLOW_OPEN_GATEWAY_CONTEXT } from './deploy-config';
import { LlmGateway, type LlmGatewayProps } from './llm-gateway';

/** The stack's properties; `allowOpenGateway` and `alertEmail` default to the context values of the same names. */
export type LlmGatewayStackProps = StackProps & LlmGatewayProps;

/** The deployable stack: the gateway construct and its outputs (API URL, stats URL, dashboard URL). */
export class LlmGatewayStack extends Stack {
  readonly gateway: LlmGateway;

  constructor(scope: Construct, id: string, props: LlmGatewayStackProps) {
    super(scope, id, props);
    const context = (key: string): unknown => this.node.tryGetContext(key);
    const allowOpen = context(ALLOW_OPEN_GATEWAY_CONTEXT);
    this.gateway = new LlmGateway(this, 'Gateway', {
      ...props,
      allowOpenGateway: props.allowOpenGateway ?? (allowOpen === true || allowOpen === 'true'),
      alertEmail: props.alertEmail ?? (context('alertEmail') as string | undefined),
    });

    new CfnOutput(this, 'ApiUrl', {
      value: this.gateway.api.url,
      description: 'Base URL for the SDKs (OpenAI: append v1; Anthropic and Gemini: as is)',
    });
    new CfnOutput(this, 'StatsUrl', { value: this.gateway.statsUrl, description: 'Health table and counters' });
    new CfnOutput(this, 'DashboardUrl', { value: this.gateway.dashboardUrl, description: 'CloudWatch dashboard' });
    const secrets = this.gateway.deployConfig.createdSecrets.map((s) => s.secretName);
    if (secrets.length > 0) {
      new CfnOutput(this, 'ProviderKeySecrets', {
        value: secrets.join(','),
        description: 'Empty secrets to fill with each provider key (aws secretsmanager put-secret-value)',
      });
    }
  }
}
