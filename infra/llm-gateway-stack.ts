import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { LlmGateway, type LlmGatewayProps } from './llm-gateway';

/** The deployable stack: the gateway construct and its outputs. */
export class LlmGatewayStack extends Stack {
  readonly gateway: LlmGateway;

  constructor(scope: Construct, id: string, props: StackProps & LlmGatewayProps) {
    super(scope, id, props);
    this.gateway = new LlmGateway(this, 'Gateway', props);
    new CfnOutput(this, 'ApiUrl', { value: this.gateway.api.url, description: 'Base URL for the SDKs' });
  }
}
