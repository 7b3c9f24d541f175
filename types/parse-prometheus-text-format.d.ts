declare module 'parse-prometheus-text-format' {
  /** One metric family of a Prometheus text exposition, as the parser returns it. */
  export interface MetricFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'HISTOGRAM' | 'UNTYPED';
    metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }[];
  }
  /** Parses Prometheus text exposition; throws on malformed input. */
  export default function parsePrometheusTextFormat(text: string): MetricFamily[];
}
