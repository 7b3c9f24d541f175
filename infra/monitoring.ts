import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { allInstances } from '../shared/config/load-config';
import { type GatewayConfig, PROVIDER_TYPES, type ProviderType } from '../shared/config/schema';
import { METRICS, METRICS_NAMESPACE, METRICS_SERVICE, type MetricName } from '../shared/observability/metrics-sink';
import type { FailureClass } from '../shared/resilience/outcome';

/** Every failure class, in the order the dashboard shows them (the values of FailuresByClass's `class`). */
export const FAILURE_CLASSES = [
  'auth',
  'rate_limited',
  'transient',
  'instance_failure',
  'stream_failure',
] as const satisfies readonly FailureClass[];

// Fails to compile when a FailureClass is added without being listed above.
const everyFailureClassListed: Exclude<FailureClass, (typeof FAILURE_CLASSES)[number]> extends never ? true : never =
  true;
void everyFailureClassListed;

/** Period of every widget and alarm. */
const PERIOD = Duration.minutes(1);

/** The dimension values of one metric, keyed exactly by its dimension names in METRICS (`service` is added). */
export type MetricDimensions<N extends MetricName> = Record<(typeof METRICS)[N]['dimensions'][number], string>;

/**
 * One gateway metric as CloudWatch stores it: namespace METRICS_NAMESPACE, dimensions `service` plus exactly the
 * names METRICS lists for it. A different set of names throws, since CloudWatch would match no data point.
 */
export function gatewayMetric<N extends MetricName>(
  name: N,
  dimensions: MetricDimensions<N>,
  options: { statistic?: string; label?: string } = {},
): cloudwatch.Metric {
  const expected = [...METRICS[name].dimensions].sort();
  const given = Object.keys(dimensions).sort();
  if (expected.join() !== given.join()) {
    throw new Error(`metric ${name} has dimensions [${expected.join(', ')}], not [${given.join(', ')}]`);
  }
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRICS_SERVICE, ...(dimensions as Record<string, string>) },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: PERIOD,
    label: options.label,
  });
}

/** Properties of the dashboard and alarms. */
export interface GatewayMonitoringProps {
  /** The deployed config: the providers and instances to draw and alarm on. */
  config: GatewayConfig;
  /** The aggregator's on-failure queue; a message there means events were not counted. */
  deadLetterQueue?: sqs.IQueue;
  /** An email address subscribed to the alarm topic (the recipient confirms by email). */
  alertEmail?: string;
}

/**
 * The gateway's CloudWatch dashboard (requests, latency, attempts, failovers, failures by class, circuit state per
 * instance, no-healthy-instance answers) and its alarms (a circuit opened; no healthy instance) to an SNS topic.
 */
export class GatewayMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    const providers = PROVIDER_TYPES.filter((type) => (props.config.providers[type]?.length ?? 0) > 0);
    const instances = allInstances(props.config);

    this.alarmTopic = this.createTopic(props.alertEmail);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: dashboardRows(providers, instances),
    });

    for (const instance of instances) {
      this.addAlarm(`CircuitOpened-${instance.name}`, {
        metric: gatewayMetric('CircuitOpened', { provider: instance.provider, instance: instance.name }),
        description: `The circuit of ${instance.provider} instance ${instance.name} opened: it failed repeatedly and gets no traffic until its backoff ends.`,
      });
    }
    for (const provider of providers) {
      this.addAlarm(`NoHealthyInstance-${provider}`, {
        metric: gatewayMetric('NoHealthyInstance', { provider }),
        description: `Requests for ${provider} were refused (503/429) because no instance was eligible.`,
      });
    }
    if (props.deadLetterQueue !== undefined) {
      this.addAlarm('AggregatorDeadLetters', {
        metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        description: 'Events-stream batches the aggregator gave up on: /stats counts miss these failover events.',
      });
    }
  }

  /** An alarm that fires on any data point above 0 in a minute, notifying the topic. */
  private addAlarm(id: string, spec: { metric: cloudwatch.IMetric; description: string }): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric: spec.metric,
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
  }

  /**
   * The alarm topic, encrypted with a customer managed key (CloudWatch cannot publish with the AWS managed SNS key)
   * and refusing non-TLS publishers.
   */
  private createTopic(alertEmail: string | undefined): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the llm-gateway alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true });
    const stack = Stack.of(this);
    // A topic policy replaces SNS's default one, so CloudWatch alarms of this account are allowed explicitly.
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*` },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (alertEmail !== undefined && alertEmail !== '') topic.addSubscription(new EmailSubscription(alertEmail));
    return topic;
  }
}

type Instance = { name: string; provider: ProviderType };

/** The dashboard's widgets, two per row; every metric comes from gatewayMetric. */
function dashboardRows(providers: ProviderType[], instances: Instance[]): cloudwatch.IWidget[][] {
  const perProvider = (name: 'Requests' | 'Attempts' | 'NoHealthyInstance', statistic?: string) =>
    providers.map((provider) => gatewayMetric(name, { provider }, { statistic, label: provider }));
  const perInstance = (name: 'UpstreamLatency' | 'Failovers' | 'CircuitOpened' | 'CircuitState', statistic?: string) =>
    instances.map((i) => gatewayMetric(name, { provider: i.provider, instance: i.name }, { statistic, label: i.name }));
  const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
    new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, period: PERIOD, ...extra });

  return [
    [
      graph('Requests (per minute, by provider)', perProvider('Requests')),
      graph('Attempts per request (average, by provider)', perProvider('Attempts', cloudwatch.Stats.AVERAGE), {
        leftYAxis: { min: 0 },
      }),
    ],
    [
      graph('Upstream latency to first byte p50 (ms)', perInstance('UpstreamLatency', cloudwatch.Stats.p(50))),
      graph('Upstream latency to first byte p99 (ms)', perInstance('UpstreamLatency', cloudwatch.Stats.p(99))),
    ],
    [
      graph('Failovers away from each instance', perInstance('Failovers')),
      graph(
        'Failures by class',
        providers.flatMap((provider) =>
          FAILURE_CLASSES.map((failureClass) =>
            gatewayMetric(
              'FailuresByClass',
              { provider, class: failureClass },
              { label: `${provider} ${failureClass}` },
            ),
          ),
        ),
        { stacked: true },
      ),
    ],
    [
      graph(
        'Circuit state per instance (0 closed, 1 half-open, 2 open; at transitions)',
        perInstance('CircuitState', cloudwatch.Stats.MAXIMUM),
        {
          leftYAxis: { min: 0, max: 2, showUnits: false },
          leftAnnotations: [
            { value: 1, label: 'half-open', color: cloudwatch.Color.ORANGE },
            { value: 2, label: 'open', color: cloudwatch.Color.RED },
          ],
        },
      ),
      graph('No healthy instance (requests refused)', perProvider('NoHealthyInstance')),
    ],
    [
      graph('Circuit openings', perInstance('CircuitOpened')),
      graph('Breaker store errors (served from memory)', [gatewayMetric('BreakerStoreErrors', {})]),
    ],
  ];
}
