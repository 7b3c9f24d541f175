import { Stack, Validations } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';
import type { LlmGateway } from './llm-gateway';

/** The AwsSolutions findings the gateway accepts on purpose: rule id → why. */
export const NAG_ACKNOWLEDGEMENTS = {
  'AwsSolutions-APIG4':
    'Clients authenticate with gateway keys checked by the functions (SHA-256 digests, constant time), sent the way ' +
    'each LLM SDK sends its key (Authorization: Bearer, x-api-key, x-goog-api-key); an API Gateway authorizer would ' +
    'break the drop-in SDK contract and add latency to every streamed request.',
  'AwsSolutions-COG4':
    'No Cognito users exist: callers are applications holding gateway keys, which the functions check themselves.',
  'AwsSolutions-APIG2':
    'The proxy passes request bodies byte for byte to three different provider APIs and answers invalid requests ' +
    "in the caller's own API error format; an API Gateway model would answer in none of them. Stats routes take no body.",
  'AwsSolutions-APIG3':
    'WAF costs about $5/month per web ACL plus rules even with no traffic, against the zero-idle-cost design; the ' +
    'stage is throttled and every route needs a gateway key. Attach a web ACL to the stage if your threat model needs one.',
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
    "API Gateway's account-level CloudWatch role, required for access and execution logs; AWS documents this " +
    'managed policy for it and it grants nothing beyond CloudWatch Logs.',
  'AwsSolutions-L1':
    'nodejs22.x is the runtime SPEC §7 pins and the bundles target (esbuild target node22); moving to a newer ' +
    'runtime is a deliberate change with its own tests, not a synth-time default.',
  'AwsSolutions-SMG4':
    'Provider API keys are issued in the provider consoles; no rotation Lambda can mint one. Rotate by creating a ' +
    'new key at the provider and `aws secretsmanager put-secret-value`.',
  'AwsSolutions-IAM5[events stream]':
    "dynamodb:ListStreams is granted on the events table's own streams (<table ARN>/stream/*, the policy AWS " +
    'documents for Lambda stream consumers); the wildcard is the stream label, never another table.',
  'AwsSolutions-SQS3':
    "This queue is the dead-letter destination of the aggregator's event source mapping (on-failure records); a " +
    'dead-letter queue of its own would add nothing.',
} as const;

type AcknowledgedRule = keyof typeof NAG_ACKNOWLEDGEMENTS;

function acknowledge(scope: IConstruct, ...rules: AcknowledgedRule[]): void {
  Validations.of(scope).acknowledge(...rules.map((id) => ({ id, reason: NAG_ACKNOWLEDGEMENTS[id] })));
}

/** The IAM5 finding of `<table ARN>/stream/*`, whose id names the table's logical id. */
function acknowledgeStreamWildcard(gateway: LlmGateway): void {
  const table = gateway.tables.events;
  const logicalId = Stack.of(table).resolve((table.node.defaultChild as CfnTable).logicalId) as string;
  Validations.of(gateway.functions.aggregator.role ?? gateway.functions.aggregator).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/stream/*]`,
    reason: NAG_ACKNOWLEDGEMENTS['AwsSolutions-IAM5[events stream]'],
  });
}

/**
 * Acknowledges each accepted cdk-nag AwsSolutions finding on the narrowest construct it applies to, so that a new
 * resource with the same finding still fails the checks.
 */
export function suppressNagFindings(gateway: LlmGateway): void {
  for (const method of gateway.api.methods) acknowledge(method, 'AwsSolutions-APIG4', 'AwsSolutions-COG4');
  acknowledge(gateway.api, 'AwsSolutions-APIG2');
  acknowledge(gateway.api.deploymentStage, 'AwsSolutions-APIG3');
  const cloudWatchRole = gateway.api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole !== undefined) {
    acknowledge(
      cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
    );
  }
  for (const fn of Object.values(gateway.functions)) acknowledge(fn, 'AwsSolutions-L1');
  for (const secret of gateway.providerKeySecrets) acknowledge(secret, 'AwsSolutions-SMG4');
  acknowledge(gateway.deadLetterQueue, 'AwsSolutions-SQS3');
  acknowledgeStreamWildcard(gateway);
}
