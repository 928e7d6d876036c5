import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** What the gauges read when Prometheus scrapes. */
export interface MetricSources {
  outboxDepth(): Promise<number>
  countRunsByState(): Promise<Partial<Record<string, number>>>
}

/** The relay's Prometheus metrics, one registry per relay so tests can run several side by side. */
export interface Metrics {
  registry: Registry
  events: Counter<'source' | 'outcome'>
  callbacks: Counter<'state' | 'outcome'>
  attempts: Counter<'kind' | 'outcome'>
  requests: Counter<'kind' | 'status'>
  problems: Counter<'status' | 'type'>
  stepDuration: Histogram<'kind' | 'state'>
  githubRateLimitRemaining: Gauge
}

export function createMetrics(
  store: MetricSources,
  options: { defaultMetrics?: boolean } = {},
): Metrics {
  const registry = new Registry()
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'hookchain_' })
  const metrics: Metrics = {
    registry,
    events: new Counter({
      name: 'hookchain_events_total',
      help: 'Registry deliveries received, by source and outcome (started, unmatched, ignored, rejected, duplicate, unauthorized).',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    callbacks: new Counter({
      name: 'hookchain_callbacks_total',
      help: 'Step callbacks received, by reported state and outcome (accepted, step-ended, stale).',
      labelNames: ['state', 'outcome'],
      registers: [registry],
    }),
    attempts: new Counter({
      name: 'hookchain_dispatch_attempts_total',
      help: 'Outbox deliveries, by kind (dispatch, webhook, registry-callback) and outcome (delivered, retry, postponed, failed, stale).',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    requests: new Counter({
      name: 'hookchain_outbound_requests_total',
      help: 'HTTP requests to GitHub, webhook steps and registries, by kind and HTTP status ("none" when no answer came).',
      labelNames: ['kind', 'status'],
      registers: [registry],
    }),
    problems: new Counter({
      name: 'hookchain_http_problems_total',
      help: 'Requests answered with problem+json, by HTTP status and problem type (the last part of its type URN): 503 database-unavailable says the database is failing.',
      labelNames: ['status', 'type'],
      registers: [registry],
    }),
    stepDuration: new Histogram({
      name: 'hookchain_step_duration_seconds',
      help: 'Time from a step being dispatched to its final state.',
      labelNames: ['kind', 'state'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200],
      registers: [registry],
    }),
    githubRateLimitRemaining: new Gauge({
      name: 'hookchain_github_rate_limit_remaining',
      help: 'Requests left in the current GitHub rate limit window, as GitHub last reported.',
      registers: [registry],
    }),
  }
  new Gauge({
    name: 'hookchain_outbox_depth',
    help: 'Jobs waiting in the outbox (dispatches, webhook deliveries, registry callbacks).',
    registers: [registry],
    async collect() {
      this.set(await store.outboxDepth())
    },
  })
  new Gauge({
    name: 'hookchain_runs',
    help: 'Runs in the history, by state.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset()
      for (const [state, count] of Object.entries(await store.countRunsByState()))
        this.set({ state }, count ?? 0)
    },
  })
  return metrics
}

/** Counts each HTTP request of an outbox delivery by its status. */
export function countRequests(
  metrics: Metrics | undefined,
  kind: string,
  attempts: readonly { status: number | null }[],
): void {
  for (const a of attempts)
    metrics?.requests.inc({ kind, status: a.status === null ? 'none' : String(a.status) })
}
