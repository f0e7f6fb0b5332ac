/**
 * Per-provider send counts and latencies in Workers Analytics Engine (the SEND_METRICS dataset),
 * one data point per provider attempt, so an operator sees a sick carrier with one SQL query and
 * no dashboard (README, Observability). The binding is optional: without it (a local run, a test)
 * nothing is written, and the attempt's log line still carries the same figures.
 *
 * Layout: index1 = provider; blob1 = provider, blob2 = outcome, blob3 = tenant id;
 * double1 = latency in ms, double2 = 1 (a count, for SUM under sampling: `SUM(_sample_interval)`).
 */
export interface SendAttemptMetric {
  provider: string;
  outcome: string;
  tenantId: string;
  latencyMs: number;
}

export function recordSendMetric(
  dataset: AnalyticsEngineDataset | undefined,
  metric: SendAttemptMetric,
): void {
  try {
    dataset?.writeDataPoint({
      indexes: [metric.provider],
      blobs: [metric.provider, metric.outcome, metric.tenantId],
      doubles: [metric.latencyMs, 1],
    });
  } catch {
    // Metrics never fail a send.
  }
}
