import { type Server, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { Duplex } from 'node:stream'
import type { Express } from 'express'
import type { Logger } from 'pino'
import type { Settings } from './config/settings.js'
import { createDeliverer, type Deliverer } from './deliverers/deliverer.js'
import { createNotifier, type Notifier } from './deliverers/notifier.js'
import { createApp } from './http/app.js'
import { newId } from './ids.js'
import { createMetrics } from './metrics.js'
import { retryDelayMs } from './outbox/backoff.js'
import { createClusterPacer, pacingKey, slotWaitLimit } from './outbox/cluster-pacer.js'
import { notifyHandler } from './outbox/notify.js'
import { notifyRegistryHandler } from './outbox/notify-registry.js'
import { OutboxRunner } from './outbox/runner.js'
import { sendStepHandler } from './outbox/send-step.js'
import { realClock } from './outbox/write-pacer.js'
import { startDeadlineSweep } from './runs/deadline-sweep.js'
import { createRunService, type RunService } from './runs/service.js'
import { openStore } from './store/open-store.js'
import { startRetention } from './store/retention.js'
import type { Store } from './store/store.js'

export interface RelayOptions {
  settings: Settings
  databaseUrl: string
  port: number
  host?: string
  logger: Logger
  /** Replaces the network side (tests); by default GitHub, webhooks and registries are called for real. */
  deliverer?: Deliverer
  notifier?: Notifier
  /** Per outbound HTTP request (GitHub, webhooks, registries). Default 10 s. */
  outboundTimeoutMs?: number
  /** The store can no longer work (its SQLite thread stopped); the CLI then exits, for a supervisor to restart it. */
  onStoreFailure?: (error: Error) => void
  /** Process-wide metrics (memory, event loop); off when several relays share a process, as in tests. */
  defaultMetrics?: boolean
  outbox?: {
    /** How long a relay keeps the jobs it claimed (HOOKCHAIN_LEASE_MS); a dead relay's come back after it. */
    leaseMs?: number
    /** How often the outbox and the steps' deadlines are looked at when nothing wakes them. */
    pollMs?: number
    concurrency?: number
    /** Delay before try number `tries + 1` of a job that failed `tries` times. */
    retryDelay?: (tries: number) => number
    /** Tries of a registry callback before giving up (steps are bounded by their timeout instead). */
    registryTries?: number
  }
}

export interface Relay {
  url: string
  /** The HTTP interface, for tests that read its routes. */
  app: Express
  store: Store
  runs: RunService
  outbox: OutboxRunner
  close(): Promise<void>
}

const DEFAULT_LEASE_MS = 30_000
const DEFAULT_POLL_MS = 500
const DEFAULT_REGISTRY_TRIES = 8

/** Opens the store, applies migrations, starts the outbox and serves HTTP. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { settings, logger } = options
  const store = await openStore(options.databaseUrl, { onFailure: options.onStoreFailure })
  try {
    await store.migrate()
  } catch (error) {
    await store.close()
    throw error
  }
  const owner = `${hostname()}/${process.pid}/${newId().slice(-8)}`
  const leaseMs = options.outbox?.leaseMs ?? DEFAULT_LEASE_MS
  const pollMs = options.outbox?.pollMs ?? DEFAULT_POLL_MS
  const retryDelay = options.outbox?.retryDelay ?? ((tries: number) => retryDelayMs(tries + 1))
  const now = () => new Date()
  const metrics = createMetrics(store, { defaultMetrics: options.defaultMetrics ?? true })

  const runs = createRunService({
    store,
    chains: () => settings.chains,
    runsPerDelivery: settings.runsPerDelivery,
    now,
    logger,
    metrics,
    onWork: () => outbox.kick(),
  })
  const deliverer =
    options.deliverer ??
    createDeliverer(settings, {
      logger,
      timeoutMs: options.outboundTimeoutMs,
      onRateLimit: (remaining) => metrics.githubRateLimitRemaining.set(remaining),
    })
  const common = {
    store,
    deliverer,
    publicUrl: settings.publicUrl,
    retryDelay,
    secrets: settings.secrets,
    logger,
    metrics,
    now,
  }
  const outbox = new OutboxRunner({
    queue: store,
    owner,
    logger,
    now,
    leaseMs,
    pollMs,
    concurrency: options.outbox?.concurrency,
    handlers: {
      send: sendStepHandler({
        ...common,
        runs,
        // Always the store's pacer, SQLite included: one code path, a pace that survives a
        // restart, and a bounded wait for a slot, which keeps a backlog from outliving leases.
        pacer: createClusterPacer(
          store,
          pacingKey(settings.github.auth, settings.github.apiUrl),
          settings.github.writesPerMinute,
          realClock,
          slotWaitLimit(leaseMs),
        ),
      }),
      'notify-registry': notifyRegistryHandler({
        ...common,
        tries: options.outbox?.registryTries ?? DEFAULT_REGISTRY_TRIES,
      }),
      notify: notifyHandler({
        ...common,
        notifier: options.notifier ?? createNotifier({ timeoutMs: options.outboundTimeoutMs }),
        chains: () => settings.chains,
        tries: options.outbox?.registryTries ?? DEFAULT_REGISTRY_TRIES,
      }),
    },
  })

  const app = createApp({ store, runs, settings, logger, metrics })
  const server = await listen(app, options.port, options.host ?? '0.0.0.0')
  outbox.start()
  const deadlines = startDeadlineSweep(runs, { intervalMs: pollMs, logger })
  const retention = startRetention({
    store,
    maxAgeMs: settings.retentionMs,
    rejectedPayloadMs: settings.rejectedPayloadMs,
    logger,
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`
  logger.info({ url, database: store.dialect, owner }, 'hookchain relay listening on %s', url)

  let closing: Promise<void> | null = null
  return {
    url,
    app,
    store,
    runs,
    outbox,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeIdleConnections()
        })
        retention.stop()
        await deadlines.stop()
        await outbox.stop()
        await store.close()
      })()
      return closing
    },
  }
}

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) =>
      error ? reject(error) : resolve(server),
    )
    server.keepAliveTimeout = 65_000
    server.headersTimeout = 66_000
    server.requestTimeout = 30_000
    server.on('clientError', answerMalformedRequest)
  })
}

/** A request that is not valid HTTP never reaches Express: answer it as problem+json all the same. */
function answerMalformedRequest(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy()
    return
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 408
        : 400
  const title = STATUS_CODES[status] ?? 'Bad Request'
  const body = JSON.stringify({
    type: 'urn:hookchain:problem:malformed-request',
    title,
    status,
    detail: `The request is not valid HTTP/1.1 (${error.code ?? error.message}); send a well-formed request.`,
  })
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  )
}
