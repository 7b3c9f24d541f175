import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { EVENTS_TABLE, STATE_TABLE, type TableDefinition } from '../shared/store/table-definitions';

/** Properties of the gateway construct. */
export interface LlmGatewayProps {
  /** Path of the gateway.yaml bundled into the proxy function. */
  configPath: string;
  /** The proxy's Lambda timeout (seconds); covers the configured request budget. */
  proxyTimeoutSeconds?: number;
}

const ROOT = join(__dirname, '..');

/** Builds a DynamoDB table from its shared definition (the local runtime builds the same one). */
function tableFrom(scope: Construct, definition: TableDefinition): dynamodb.Table {
  return new dynamodb.Table(scope, definition.id, {
    partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: definition.sortKey ? { name: definition.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: definition.ttlAttribute,
    stream: definition.stream ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/**
 * The whole gateway as one reusable construct: state and events tables, the proxy Lambda (response streaming) and a
 * regional REST API whose proxy integration streams.
 */
export class LlmGateway extends Construct {
  readonly api: apigateway.RestApi;
  readonly stateTable: dynamodb.Table;
  readonly eventsTable: dynamodb.Table;
  readonly proxyFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props: LlmGatewayProps) {
    super(scope, id);
    this.stateTable = tableFrom(this, STATE_TABLE);
    this.eventsTable = tableFrom(this, EVENTS_TABLE);
    const timeout = props.proxyTimeoutSeconds ?? 310;

    this.proxyFunction = new NodejsFunction(this, 'ProxyFunction', {
      entry: join(ROOT, 'functions/proxy.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 1024,
      timeout: Duration.seconds(timeout),
      environment: {
        GATEWAY_CONFIG: 'gateway.yaml',
        [STATE_TABLE.envVar]: this.stateTable.tableName,
        [EVENTS_TABLE.envVar]: this.eventsTable.tableName,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Bundle (and tree-shake) the AWS SDK instead of using the runtime's copy: smaller cold start, pinned version.
        externalModules: [],
        banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, outputDir: string) => [
            `cp "${props.configPath}" "${outputDir}/gateway.yaml"`,
          ],
        },
      },
    });
    this.stateTable.grant(this.proxyFunction, 'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem');
    this.eventsTable.grant(this.proxyFunction, 'dynamodb:PutItem', 'dynamodb:BatchWriteItem');

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: 'llm-gateway',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      deployOptions: { stageName: 'v1' },
      binaryMediaTypes: ['*/*'],
    });
    const integration = new apigateway.LambdaIntegration(this.proxyFunction, {
      proxy: true,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      timeout: Duration.seconds(Math.min(timeout, 900)),
    });
    this.api.root.addProxy({ defaultIntegration: integration, anyMethod: true });
  }
}
