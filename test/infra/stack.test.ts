import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LlmGatewayStack } from '../../infra/llm-gateway-stack';
import { FAILURE_CLASSES } from '../../infra/monitoring';
import { sha256Hex } from '../../shared/auth/gateway-keys';
import { allInstances, parseConfig } from '../../shared/config/load-config';
import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from '../../shared/observability/metrics-sink';
import { TABLES } from '../../shared/store/table-definitions';
import {
  BACKUP_SECRET_ARN,
  DEMO_ENV,
  GEMINI_SECRET_NAME,
  KEYED_CONFIG,
  KEYED_ENV,
  PLAIN_ANTHROPIC_KEY,
  PLAIN_GATEWAY_KEY,
  PLAIN_OPENAI_KEY,
  writeConfig,
} from './fixtures';
import {
  arnOf,
  assetDirOf,
  dashboardBody,
  filesUnder,
  grantsOf,
  logicalId,
  policyStatements,
  read,
  resourcesOfType,
  type Synthesized,
  synthesize,
} from './synth';

const DEMO_CONFIG = join(__dirname, '../../local/demo.gateway.yaml');

describe('the gateway stack, synthesized offline from the demo config (an open gateway, on purpose)', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize(
      'Demo',
      { configPath: DEMO_CONFIG, configEnv: { ...process.env, ...DEMO_ENV } },
      { allowOpenGateway: 'true' },
    );
  });

  it('serves every route from a regional REST API, streaming the proxy and buffering the stats routes', () => {
    const { template, stack } = synth;
    const proxy = logicalId(stack.gateway.functions.proxy);
    const stats = logicalId(stack.gateway.functions.stats);
    const proxyTimeout = stack.gateway.deployConfig.proxyTimeoutSeconds;

    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    const methods = resourcesOfType(synth, 'AWS::ApiGateway::Method').map(([, m]) => m.Properties);
    const integrationOf = (fn: string) =>
      methods.filter((m) => JSON.stringify((m.Integration as { Uri: unknown }).Uri).includes(`"${fn}"`));
    expect(integrationOf(proxy)).toHaveLength(2); // `/` and `/{proxy+}`
    for (const method of integrationOf(proxy)) {
      expect(method).toMatchObject({
        HttpMethod: 'ANY',
        Integration: { Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM', TimeoutInMillis: proxyTimeout * 1000 },
      });
    }
    expect(integrationOf(stats)).toHaveLength(3);
    for (const method of integrationOf(stats)) {
      expect((method.Integration as { ResponseTransferMode?: string }).ResponseTransferMode ?? 'BUFFERED').toBe(
        'BUFFERED',
      );
    }
    const paths = resourcesOfType(synth, 'AWS::ApiGateway::Resource').map(([, r]) => r.Properties.PathPart);
    expect(paths.sort()).toEqual(['health', 'metrics', 'stats', '{proxy+}']);
  });

  it('logs access to a log group and throttles the stage', () => {
    synth.template.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
      MethodSettings: [
        Match.objectLike({
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ],
    });
  });

  it('gives the proxy a timeout covering retry.totalTimeoutSeconds, which the integration timeout covers too', () => {
    const proxy = synth.json.Resources[logicalId(synth.stack.gateway.functions.proxy)].Properties;

    // The demo config keeps the default 300 s budget.
    expect(proxy.Timeout).toBe(310);
    expect(synth.stack.gateway.deployConfig.proxyTimeoutSeconds).toBe(310);
  });

  it('builds every table from its shared definition: on demand, TTL, point-in-time recovery, a stream only on events', () => {
    const tables = resourcesOfType(synth, 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(Object.keys(TABLES).length);

    for (const [role, definition] of Object.entries(TABLES) as [keyof typeof TABLES, (typeof TABLES)['state']][]) {
      const table = synth.json.Resources[logicalId(synth.stack.gateway.tables[role])].Properties;
      expect(table).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: definition.partitionKey, KeyType: 'HASH' },
          ...(definition.sortKey ? [{ AttributeName: definition.sortKey, KeyType: 'RANGE' }] : []),
        ],
        TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
      expect(table.StreamSpecification).toEqual(definition.stream ? { StreamViewType: definition.stream } : undefined);
    }
  });

  it('feeds the aggregator from the events stream with bounded, bisected retries and an on-failure queue', () => {
    const { gateway } = synth.stack;

    synth.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(gateway.functions.aggregator) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(gateway.tables.events), 'StreamArn'] },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(gateway.deadLetterQueue), 'Arn'] } } },
    });
  });

  it('encrypts the on-failure queue and the alarm topic, and refuses non-TLS access to both', () => {
    synth.template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    synth.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const denyInsecure = Match.arrayWith([
      Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    ]);
    synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', { PolicyDocument: { Statement: denyInsecure } });
    synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', { PolicyDocument: { Statement: denyInsecure } });
  });

  it('runs every function on nodejs22.x arm64 from an ESM bundle, with the tables and Powertools settings', () => {
    const functions = resourcesOfType(synth, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3);

    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: {
          Variables: expect.objectContaining({
            ...Object.fromEntries(Object.values(TABLES).map((t) => [t.envVar, expect.anything()])),
            NODE_OPTIONS: '--enable-source-maps',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            POWERTOOLS_SERVICE_NAME: METRICS_SERVICE,
            POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
          }),
        },
      });
    }
  });

  it('grants each function only the table actions it uses', () => {
    const { gateway } = synth.stack;
    const { state, events, rollups } = gateway.tables;

    expect(grantsOf(synth, gateway.functions.proxy, 'dynamodb:')).toEqual({
      [arnOf(state)]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      [arnOf(events)]: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
    });
    expect(grantsOf(synth, gateway.functions.aggregator, 'dynamodb:')).toEqual({
      [arnOf(rollups)]: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [arnOf(events, 'StreamArn')]: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      [JSON.stringify({ 'Fn::Join': ['', [JSON.parse(arnOf(events)), '/stream/*']] })]: ['dynamodb:ListStreams'],
    });
    expect(grantsOf(synth, gateway.functions.stats, 'dynamodb:')).toEqual({
      [arnOf(state)]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
      [arnOf(rollups)]: ['dynamodb:BatchGetItem', 'dynamodb:Query'],
      [arnOf(events)]: ['dynamodb:Query'],
    });
  });

  it('has no IAM statement allowing a DynamoDB or Secrets Manager action on "*"', () => {
    const offending = policyStatements(synth).filter(
      ({ statement }) =>
        [statement.Resource].flat().includes('*') &&
        [statement.Action].flat().some((a) => a.startsWith('dynamodb:') || a.startsWith('secretsmanager:')),
    );

    expect(offending).toEqual([]);
  });

  it('draws only metrics the functions emit: namespace, name and exactly `service` plus the listed dimensions', () => {
    const body = dashboardBody(synth);
    const lines = body.widgets.flatMap((w) => w.properties.metrics ?? []);
    expect(lines.length).toBeGreaterThan(0);

    const drawn = new Set<string>();
    for (const line of lines) {
      const [namespace, name, ...rest] = line as [string, MetricName, ...unknown[]];
      const pairs = rest.filter((x): x is string => typeof x === 'string');
      const dimensions = Object.fromEntries(pairs.flatMap((_, i) => (i % 2 === 0 ? [[pairs[i], pairs[i + 1]]] : [])));
      expect(namespace).toBe(METRICS_NAMESPACE);
      expect(Object.keys(METRICS)).toContain(name);
      expect(Object.keys(dimensions).sort()).toEqual(['service', ...METRICS[name].dimensions].sort());
      expect(dimensions.service).toBe(METRICS_SERVICE);
      drawn.add(name);
    }
    expect([...drawn].sort()).toEqual(Object.keys(METRICS).sort());
  });

  it('draws one circuit-state line per configured instance and one failure line per provider and class', () => {
    const config = parseConfig(readFileSync(DEMO_CONFIG, 'utf8'), DEMO_ENV);
    const lines = dashboardBody(synth).widgets.flatMap((w) => (w.properties.metrics ?? []) as unknown[][]);
    const valuesOf = (name: MetricName, dimension: string) =>
      lines.filter((l) => l[1] === name).map((l) => l[l.indexOf(dimension) + 1]);

    expect(valuesOf('CircuitState', 'instance').sort()).toEqual(
      allInstances(config)
        .map((i) => i.name)
        .sort(),
    );
    expect(valuesOf('FailuresByClass', 'class').sort()).toEqual([...FAILURE_CLASSES].sort());
  });

  it('alarms on a circuit opening per instance, no healthy instance per provider and aggregator dead letters, to the topic', () => {
    const topic = logicalId(synth.stack.gateway.monitoring.alarmTopic);
    const alarms = resourcesOfType(synth, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);

    expect(alarms.map((a) => a.MetricName).sort()).toEqual(
      ['ApproximateNumberOfMessagesVisible', 'CircuitOpened', 'CircuitOpened', 'NoHealthyInstance'].sort(),
    );
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        AlarmActions: [{ Ref: topic }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      if (alarm.Namespace === METRICS_NAMESPACE) {
        const names = (alarm.Dimensions as { Name: string }[]).map((d) => d.Name).sort();
        expect(names).toEqual(['service', ...METRICS[alarm.MetricName as MetricName].dimensions].sort());
      }
    }
  });

  it('outputs the API URL, the stats URL and the dashboard URL', () => {
    const outputs = synth.json.Outputs;

    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain('.execute-api.');
    expect(JSON.stringify(outputs.StatsUrl.Value)).toMatch(/\/stats"\]\]\}$/);
    expect(JSON.stringify(outputs.DashboardUrl.Value)).toContain('console.aws.amazon.com/cloudwatch/home');
  });

  it('passes the cdk-nag AwsSolutions checks, every accepted finding acknowledged with a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(synth.stack);

    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual(
      [],
    );
    const acknowledged = synth.stack.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledged) expect({ id, reason: reason.length > 40 }).toEqual({ id, reason: true });
  });
});

describe('the gateway stack, synthesized from a config with gateway keys, plain provider keys and secret: keys', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize('Keyed', { configPath: writeConfig(KEYED_CONFIG), configEnv: KEYED_ENV });
  });

  it('puts no plain gateway key and no plain provider key anywhere in the cloud assembly', () => {
    const files = filesUnder(synth.app.outdir);
    expect(files.some((f) => f.endsWith('Keyed.template.json'))).toBe(true);

    for (const file of files) {
      const text = readFileSync(file);
      for (const plain of [PLAIN_GATEWAY_KEY, PLAIN_OPENAI_KEY, PLAIN_ANTHROPIC_KEY]) {
        expect({ file, leaks: text.includes(plain) }).toEqual({ file, leaks: false });
      }
    }
  });

  it('bundles the hashed, secret-referencing config into the proxy and stats functions only', () => {
    const { gateway } = synth.stack;
    const bundled = read(join(assetDirOf(synth, gateway.functions.proxy), 'gateway.yaml'));

    expect(read(join(assetDirOf(synth, gateway.functions.stats), 'gateway.yaml'))).toBe(bundled);
    expect(existsSync(join(assetDirOf(synth, gateway.functions.aggregator), 'gateway.yaml'))).toBe(false);
    const config = parseConfig(bundled, {});
    expect(config.apiKeys.map((k) => k.key)).toEqual([
      `sha256:${sha256Hex(PLAIN_GATEWAY_KEY)}`,
      `sha256:${'ab'.repeat(32)}`,
    ]);
    expect(allInstances(config).map((i) => i.apiKey)).toEqual([
      'secret:llm-gateway/Keyed/openai-primary',
      `secret:${BACKUP_SECRET_ARN}`,
      'secret:llm-gateway/Keyed/anthropic-primary',
      `secret:${GEMINI_SECRET_NAME}`,
    ]);
  });

  it('creates an empty secret for each plain provider key, named for the stack and the instance', () => {
    const secrets = resourcesOfType(synth, 'AWS::SecretsManager::Secret').map(([, s]) => s.Properties);

    expect(secrets.map((s) => s.Name).sort()).toEqual([
      'llm-gateway/Keyed/anthropic-primary',
      'llm-gateway/Keyed/openai-primary',
    ]);
    for (const secret of secrets) {
      expect(secret.SecretString).toBeUndefined();
      expect(secret.GenerateSecretString).toBeUndefined();
    }
  });

  it('lets the proxy, and only the proxy, read exactly its provider key secrets', () => {
    const { gateway } = synth.stack;

    const proxy = grantsOf(synth, gateway.functions.proxy, 'secretsmanager:');
    expect(Object.values(proxy)).toEqual(Array(4).fill(['secretsmanager:GetSecretValue']));
    const resources = Object.keys(proxy);
    expect(resources).toEqual(
      expect.arrayContaining([
        JSON.stringify({ Ref: logicalId(gateway.providerKeySecrets[0]) }),
        JSON.stringify({ Ref: logicalId(gateway.providerKeySecrets[1]) }),
        JSON.stringify(BACKUP_SECRET_ARN),
      ]),
    );
    expect(resources.find((r) => r.includes(`:secret:${GEMINI_SECRET_NAME}-??????`))).toBeDefined();
    expect(grantsOf(synth, gateway.functions.stats, 'secretsmanager:')).toEqual({});
    expect(grantsOf(synth, gateway.functions.aggregator, 'secretsmanager:')).toEqual({});
  });

  it('sizes the proxy and its integration for the configured retry budget', () => {
    const proxy = synth.json.Resources[logicalId(synth.stack.gateway.functions.proxy)].Properties;

    expect(proxy.Timeout).toBe(131); // ceil(120.5) + 10
    synth.template.hasResourceProperties('AWS::ApiGateway::Method', {
      Integration: Match.objectLike({ ResponseTransferMode: 'STREAM', TimeoutInMillis: 131_000 }),
    });
  });

  it('passes the cdk-nag AwsSolutions checks with imported secrets too', () => {
    expect(new AwsSolutionsChecks().validateScope(synth.stack).violations).toEqual([]);
  });

  it('refuses to synthesize a config without apiKeys unless allowOpenGateway=true', () => {
    const app = new App();
    const open = () =>
      new LlmGatewayStack(app, 'Open', { configPath: DEMO_CONFIG, configEnv: { ...process.env, ...DEMO_ENV } });

    expect(open).toThrow(/no apiKeys[\s\S]*allowOpenGateway=true/);
  });
});
