import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../shared/observability/metrics-sink';
import { powertoolsLog } from '../shared/observability/powertools-log';
import { powertoolsMetrics } from '../shared/observability/powertools-metrics';
import { type AggregatorDeps, aggregateRecord } from '../shared/stats/aggregate-record';
import { createDynamoClient } from '../shared/store/dynamo-client';
import { DynamoRollupStore } from '../shared/store/dynamo-rollup-store';
import { tableNamesFromEnv } from '../shared/store/table-definitions';

/**
 * Builds the aggregator Lambda: fed by the events table's stream, it counts each record with partial batch failure
 * reporting (a failed record is retried by the event source mapping, the others are not).
 */
export function createAggregatorHandler(getDeps: () => AggregatorDeps) {
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  let deps: AggregatorDeps | undefined;
  return async (event: DynamoDBStreamEvent, context?: Context): Promise<DynamoDBBatchResponse> => {
    deps ??= getDeps();
    const ready = deps;
    try {
      return await processPartialResponse(
        event,
        (record: DynamoDBRecord) => aggregateRecord(record, ready),
        processor,
        {
          context,
          throwOnFullBatchFailure: false,
        },
      );
    } finally {
      ready.metrics.flush();
    }
  };
}

/** Dependencies from the Lambda environment. */
function depsFromEnvironment(): AggregatorDeps {
  const client = createDynamoClient({ timeoutMs: 2000 });
  return {
    rollups: new DynamoRollupStore(client, tableNamesFromEnv(process.env)),
    metrics: powertoolsMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE })),
    log: powertoolsLog(new Logger({ serviceName: 'llm-gateway-aggregator' })),
  };
}

/** The Lambda entry point. */
export const handler = createAggregatorHandler(depsFromEnvironment);
