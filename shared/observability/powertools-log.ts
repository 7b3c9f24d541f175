import type { Logger } from '@aws-lambda-powertools/logger';
import type { Log, LogFields } from './log';

/** Adapts a Powertools Logger (structured JSON in CloudWatch) to the gateway's Log. */
export function powertoolsLog(logger: Logger): Log {
  const extra = (fields?: LogFields) => (fields ? [fields] : []) as [];
  return {
    debug: (message, fields) => logger.debug(message, ...extra(fields)),
    info: (message, fields) => logger.info(message, ...extra(fields)),
    warn: (message, fields) => logger.warn(message, ...extra(fields)),
    error: (message, fields) => logger.error(message, ...extra(fields)),
  };
}
