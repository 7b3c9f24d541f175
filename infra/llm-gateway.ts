import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Env, loadConfigFile } from '../shared/config/load-config';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../shared/observability/metrics-sink';
import { STATS_PATHS } from '../shared/stats/stats-service';
import { TABLES, type TableDefinition, type TableNames } from '../shared/store/table-definitions';
import { BUNDLE_OPTIONS, FUNCTIONS, type FunctionName } from './bundle-options';
import { type DeployConfig, type ImportedSecret, planDeployConfig } from './deploy-config';
import { GatewayMonitoring } from './monitoring';
import { suppressNagFindings } from './nag-suppressions';

/** Properties of the gateway construct. */
export interface LlmGatewayProps {
  /** The user's gateway.yaml; loaded at synth, and bundled (keys hashed or moved to Secrets Manager). */
  configPath: string;
  /** Variables for `${VAR}` in the config at synth (default: `process.env`). */
  configEnv?: Env;
  /** Deploy a config with no `apiKeys`, i.e. a gateway anyone can call (default false: synth refuses). */
  allowOpenGateway?: boolean;
  /** An email address subscribed to the alarm topic. */
  alertEmail?: string;
  /** API Gateway stage name, the first path segment of every URL (default `prod`). */
  stageName?: string;
  /** Stage throttling: steady requests per second and burst (default 50 / 100). */
  throttle?: { rateLimit: number; burstLimit: number };
  /** Retention of the functions' and the API's logs (default one month). */
  logRetention?: logs.RetentionDays;
  /** The proxy's memory (MB, default 1024); it is billed for the whole upstream call, streaming included. */
  proxyMemorySize?: number;
}

const ROOT = join(__dirname, '..');

/** Seconds the stats and aggregator functions may run. */
const STATS_TIMEOUT_SECONDS = 15;
const AGGREGATOR_TIMEOUT_SECONDS = 60;

/** Table actions of each function (least privilege; a TransactWriteItems needs the actions of its items). */
const TABLE_ACCESS: Record<FunctionName, Partial<Record<keyof TableNames, string[]>>> = {
  // Breaker reads (GetItem consistent, BatchGetItem), breaker and session writes (PutItem, also inside a
  // TransactWriteItems with the events), event appends (PutItem in that transaction, BatchWriteItem otherwise).
  proxy: {
    state: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
    events: ['dynamodb:PutItem', 'dynamodb:BatchWriteItem'],
  },
  // One TransactWriteItems per event: a Put of the "counted" marker and Updates of the counters.
  aggregator: { rollups: ['dynamodb:UpdateItem', 'dynamodb:PutItem'] },
  stats: {
    state: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
    rollups: ['dynamodb:Query', 'dynamodb:BatchGetItem'],
    events: ['dynamodb:Query'],
  },
};

/**
 * The whole gateway as one reusable construct: DynamoDB tables (state, events with a stream, rollups), the proxy
 * Lambda (response streaming), the aggregator fed by the events stream, the stats Lambda, a regional REST API
 * (streamed proxy integration; buffered `/stats`, `/health`, `/metrics`), provider keys in Secrets Manager, and a
 * dashboard with alarms.
 */
export class LlmGateway extends Construct {
  readonly api: apigateway.RestApi;
  readonly tables: Record<keyof TableNames, dynamodb.Table>;
  readonly functions: Record<FunctionName, NodejsFunction>;
  /** Where the aggregator sends batches it gave up on. */
  readonly deadLetterQueue: sqs.Queue;
  /** The secrets created for provider keys given in plain text; put each key into its secret after deploying. */
  readonly providerKeySecrets: secretsmanager.Secret[] = [];
  /** The secrets the config references with `secret:`. */
  readonly importedSecrets: secretsmanager.ISecret[] = [];
  readonly monitoring: GatewayMonitoring;
  /** What was bundled: the hashed, secret-free config and the secrets it refers to. */
  readonly deployConfig: DeployConfig;
  /** `<api>/stats`. */
  readonly statsUrl: string;
  /** The dashboard in the CloudWatch console. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: LlmGatewayProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.deployConfig = planDeployConfig(loadConfigFile(props.configPath, props.configEnv ?? process.env), {
      stackName: stack.stackName,
      allowOpenGateway: props.allowOpenGateway,
    });
    if (this.deployConfig.proxyTimeoutCapped) {
      Annotations.of(this).addWarningV2(
        'llm-gateway:proxyTimeoutCapped',
        `retry.totalTimeoutSeconds does not fit in Lambda's ${this.deployConfig.proxyTimeoutSeconds} s limit; the Lambda deadline ends requests first.`,
      );
    }
    const bundledConfig = writeBundledConfig(this.deployConfig.yaml);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.tables = Object.fromEntries(
      Object.entries(TABLES).map(([role, definition]) => [role, tableFrom(this, definition)]),
    ) as Record<keyof TableNames, dynamodb.Table>;

    const fn = (name: FunctionName, options: { timeoutSeconds: number; memorySize: number; config: boolean }) =>
      this.createFunction(name, {
        ...options,
        bundledConfig: options.config ? bundledConfig : undefined,
        logRetention,
      });
    this.functions = {
      proxy: fn('proxy', {
        timeoutSeconds: this.deployConfig.proxyTimeoutSeconds,
        memorySize: props.proxyMemorySize ?? 1024,
        config: true,
      }),
      aggregator: fn('aggregator', { timeoutSeconds: AGGREGATOR_TIMEOUT_SECONDS, memorySize: 512, config: false }),
      stats: fn('stats', { timeoutSeconds: STATS_TIMEOUT_SECONDS, memorySize: 512, config: true }),
    };
    for (const [name, access] of Object.entries(TABLE_ACCESS) as [
      FunctionName,
      (typeof TABLE_ACCESS)[FunctionName],
    ][]) {
      for (const [role, actions] of Object.entries(access) as [keyof TableNames, string[]][]) {
        this.tables[role].grant(this.functions[name], ...actions);
      }
    }

    this.grantProviderKeys(stack.stackName);

    this.deadLetterQueue = new sqs.Queue(this, 'AggregatorDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.subscribeAggregator();

    this.api = this.createApi(props, logRetention);
    this.statsUrl = this.api.urlForPath('/stats');

    this.monitoring = new GatewayMonitoring(this, 'Monitoring', {
      config: this.deployConfig.config,
      deadLetterQueue: this.deadLetterQueue,
      alertEmail: props.alertEmail,
    });
    this.dashboardUrl =
      `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}` +
      `#dashboards:name=${this.monitoring.dashboard.dashboardName}`;

    suppressNagFindings(this);
  }

  /**
   * The aggregator's event source mapping on the events stream: batches of 100, bisected on error, 3 retries, records
   * older than an hour dropped to the on-failure queue, partial batch failures reported. Built as DynamoEventSource
   * builds it, minus its `dynamodb:ListStreams` grant on "*": the stream actions are granted on this table's streams.
   */
  private subscribeAggregator(): void {
    const { events } = this.tables;
    const aggregator = this.functions.aggregator;
    if (events.tableStreamArn === undefined) throw new Error(`${TABLES.events.id} has no stream`);
    aggregator.addEventSourceMapping('EventsStream', {
      eventSourceArn: events.tableStreamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: 100,
      bisectBatchOnError: true,
      retryAttempts: 3,
      maxRecordAge: Duration.hours(1),
      reportBatchItemFailures: true,
      onFailure: new SqsDlq(this.deadLetterQueue),
    });
    events.grantStream(aggregator, 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator');
    aggregator.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: [`${events.tableArn}/stream/*`] }),
    );
  }

  private createFunction(
    name: FunctionName,
    options: { timeoutSeconds: number; memorySize: number; bundledConfig?: string; logRetention: logs.RetentionDays },
  ): NodejsFunction {
    const entry = FUNCTIONS.find((f) => f.name === name)?.entry ?? `functions/${name}.ts`;
    const id = `${name[0].toUpperCase()}${name.slice(1)}`;
    const { bundledConfig } = options;
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: options.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Its own role, writing only to its own log group (instead of AWSLambdaBasicExecutionRole's logs on "*").
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `llm-gateway ${name} function`,
    });
    logGroup.grantWrite(role);
    return new NodejsFunction(this, `${id}Function`, {
      entry: join(ROOT, entry),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: Duration.seconds(options.timeoutSeconds),
      description: `llm-gateway ${name}`,
      logGroup,
      role,
      environment: {
        ...Object.fromEntries(
          (Object.keys(TABLES) as (keyof TableNames)[]).map((table) => [
            TABLES[table].envVar,
            this.tables[table].tableName,
          ]),
        ),
        ...(bundledConfig === undefined ? {} : { GATEWAY_CONFIG: 'gateway.yaml' }),
        NODE_OPTIONS: '--enable-source-maps',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_OPTIONS.target,
        minify: BUNDLE_OPTIONS.minify,
        sourceMap: BUNDLE_OPTIONS.sourcemap,
        mainFields: [...BUNDLE_OPTIONS.mainFields],
        banner: BUNDLE_OPTIONS.banner.js,
        // Bundle (and tree-shake) the AWS SDK instead of using the runtime's copy: smaller cold start, pinned version.
        externalModules: [],
        forceDockerBundling: false,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, outputDir: string) =>
            bundledConfig === undefined ? [] : [`cp "${bundledConfig}" "${outputDir}/gateway.yaml"`],
        },
      },
    });
  }

  /**
   * Makes each provider key readable by the proxy only: `secret:` references are imported, plain keys get an empty
   * secret of their own (named in the bundled config) that the operator fills after deploying.
   */
  private grantProviderKeys(stackName: string): void {
    const arns: string[] = [];
    for (const [index, reference] of this.deployConfig.importedSecrets.entries()) {
      const secret = importSecret(this, `ImportedProviderKey${index}`, reference);
      this.importedSecrets.push(secret);
      arns.push(secret.secretFullArn ?? `${secret.secretArn}-??????`);
    }
    for (const created of this.deployConfig.createdSecrets) {
      const secret = new secretsmanager.Secret(this, `ProviderKey-${created.instance}`, {
        secretName: created.secretName,
        description: `${created.provider} API key of llm-gateway instance ${created.instance} (stack ${stackName}); set it with put-secret-value`,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // Created empty, as CloudFormation allows: no generated placeholder that could pass for a key.
      (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
      this.providerKeySecrets.push(secret);
      arns.push(secret.secretArn);
    }
    if (arns.length > 0) {
      this.functions.proxy.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: arns }),
      );
    }
  }

  private createApi(props: LlmGatewayProps, logRetention: logs.RetentionDays): apigateway.RestApi {
    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? { rateLimit: 50, burstLimit: 100 };
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `llm-gateway-${Stack.of(this).stackName}`,
      description: 'llm-gateway: OpenAI, Anthropic and Gemini APIs with failover across provider instances',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Request bodies reach the proxy byte for byte (base64), whatever their content type.
      binaryMediaTypes: ['*/*'],
      // Access and execution logging need the account's API Gateway CloudWatch role.
      cloudWatchRole: true,
      deployOptions: {
        stageName: props.stageName ?? 'prod',
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        // Errors only, and never data tracing: request bodies and headers carry keys and prompts.
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: throttle.rateLimit,
        throttlingBurstLimit: throttle.burstLimit,
      },
    });

    const proxy = new apigateway.LambdaIntegration(this.functions.proxy, {
      proxy: true,
      responseTransferMode: apigateway.ResponseTransferMode.STREAM,
      // A streamed response may last as long as the proxy runs (up to 15 minutes).
      timeout: Duration.seconds(this.deployConfig.proxyTimeoutSeconds),
    });
    api.root.addMethod('ANY', proxy);
    api.root.addProxy({ defaultIntegration: proxy, anyMethod: true });

    // Buffered: small JSON/text answers. ANY, as locally: the stats function answers 405 in the API's format.
    const stats = new apigateway.LambdaIntegration(this.functions.stats, { proxy: true });
    for (const path of STATS_PATHS) api.root.addResource(path.replace(/^\//, '')).addMethod('ANY', stats);
    return api;
  }
}

/** Builds a DynamoDB table from its shared definition (the local runtime builds the same one). */
function tableFrom(scope: Construct, definition: TableDefinition): dynamodb.Table {
  return new dynamodb.Table(scope, definition.id, {
    partitionKey: { name: definition.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: definition.sortKey ? { name: definition.sortKey, type: dynamodb.AttributeType.STRING } : undefined,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    timeToLiveAttribute: definition.ttlAttribute,
    stream: definition.stream === 'NEW_IMAGE' ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

function importSecret(scope: Construct, id: string, reference: ImportedSecret): secretsmanager.ISecret {
  switch (reference.kind) {
    case 'name':
      return secretsmanager.Secret.fromSecretNameV2(scope, id, reference.secretId);
    case 'complete-arn':
      return secretsmanager.Secret.fromSecretCompleteArn(scope, id, reference.secretId);
    case 'partial-arn':
      return secretsmanager.Secret.fromSecretPartialArn(scope, id, reference.secretId);
  }
}

/** Writes the bundled gateway.yaml to a fresh temporary directory, for the bundling hook to copy. */
function writeBundledConfig(yaml: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llm-gateway-config-')), 'gateway.yaml');
  writeFileSync(path, yaml, { mode: 0o600 });
  return path;
}
