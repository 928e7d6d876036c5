import { createServer, type Server, type ServerResponse, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import { hostname } from 'node:os'
import type { Duplex } from 'node:stream'
import type { Express } from 'express'
import type { Logger } from 'pino'
import { getErrorMessage } from '../shared/errors.js'
import type { ServedSettings, Settings } from './config/settings.js'
import { publicUrlPortWarning } from './config/warnings.js'
import { createDeliverer, type Deliverer } from './deliverers/deliverer.js'
import { createNotifier, type Notifier } from './deliverers/notifier.js'
import { createImageReader, type ImageReader } from './deliverers/registry-reader.js'
import { createApp } from './http/app.js'
import { githubWebUrl } from './http/browser-guard.js'
import { DEFAULT_LIMITS, type IntakeLimits, limitConnections } from './http/limits.js'
import { newId } from './ids.js'
import { createMetrics } from './metrics.js'
import { retryDelayMs } from './outbox/backoff.js'
import { createClusterPacer, pacingKey, slotWaitLimit } from './outbox/cluster-pacer.js'
import { commitStatusHandler } from './outbox/commit-status.js'
import { notifyHandler } from './outbox/notify.js'
import { notifyRegistryHandler } from './outbox/notify-registry.js'
import { prepareImageHandler } from './outbox/prepare-image.js'
import { OutboxRunner } from './outbox/runner.js'
import { sendStepHandler } from './outbox/send-step.js'
import { realClock } from './outbox/write-pacer.js'
import { COMMIT_STATUS_JOB } from './runs/commit-status.js'
import { startDeadlineSweep } from './runs/deadline-sweep.js'
import { PREPARE_JOB } from './runs/effects.js'
import { createRunWatch } from './runs/run-watch.js'
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
  /** Reads images from registries (digests, OCI labels); by default through their HTTP API. */
  images?: ImageReader
  /** Per outbound HTTP request (GitHub, webhooks, registries). Default 10 s. */
  outboundTimeoutMs?: number
  /** The store can no longer work (its SQLite thread stopped); the CLI then exits, for a supervisor to restart it. */
  onStoreFailure?: (error: Error) => void
  /** What the relay takes before it knows who sends it; by default `DEFAULT_LIMITS`. */
  limits?: Partial<IntakeLimits>
  /** Process-wide metrics (memory, event loop); off when several relays share a process, as in tests. */
  defaultMetrics?: boolean
  /**
   * On close, how long requests in flight may take to finish before their connections are cut
   * (a slow client, a long poll). Default 10 s.
   */
  shutdownGraceMs?: number
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
    /** How often long polls compare the runs they wait for with the database (other relays' changes). */
    watchIntervalMs?: number
  }
}

export interface Relay {
  url: string
  /** The HTTP interface, for tests that read its routes. */
  app: Express
  /** The base of the callback URLs: public_url, or the listening address when it is not set. */
  publicUrl: string
  store: Store
  runs: RunService
  outbox: OutboxRunner
  /**
   * Stops taking connections, lets the requests in flight finish (their commits included) and
   * ends every keep-alive connection as soon as it is idle, then stops the outbox and the timers
   * and closes the store.
   */
  close(): Promise<void>
}

/** The relay could not start: the database would not open, or the address was not free. */
export class RelayStartError extends Error {
  override name = 'RelayStartError'
}

const DEFAULT_LEASE_MS = 30_000
const DEFAULT_POLL_MS = 500
const DEFAULT_REGISTRY_TRIES = 8
/** Tries to read a new run's image from a registry that answers 5xx or nothing, before going on. */
const IMAGE_READ_TRIES = 3
const DEFAULT_SHUTDOWN_GRACE_MS = 10_000

/**
 * Opens the store, applies migrations, listens, then starts the outbox and serves HTTP. Throws
 * `RelayStartError` when the database does not open or the address is not free, having closed
 * whatever it had opened.
 */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { logger } = options
  const store = await openDatabase(options.databaseUrl, options.onStoreFailure)
  const host = options.host ?? '0.0.0.0'
  const limits = { ...DEFAULT_LIMITS, ...options.limits }
  let server: Server
  try {
    server = await listen(options.port, host, limits)
  } catch (error) {
    await store.close().catch(() => {})
    throw listenError(error, host, options.port)
  }
  const connectionLimits = limitConnections(server, limits)
  // Nothing below awaits until the app takes the server's requests, so none arrives unanswered.
  const address = server.address() as AddressInfo
  const publicUrl = options.settings.publicUrl ?? defaultPublicUrl(address)
  const settings: ServedSettings = { ...options.settings, publicUrl }
  const portWarning = publicUrlPortWarning(options.settings.publicUrl, address.port)
  if (portWarning) logger.warn(portWarning)
  const owner = `${hostname()}/${process.pid}/${newId().slice(-8)}`
  const leaseMs = options.outbox?.leaseMs ?? DEFAULT_LEASE_MS
  const pollMs = options.outbox?.pollMs ?? DEFAULT_POLL_MS
  const retryDelay = options.outbox?.retryDelay ?? ((tries: number) => retryDelayMs(tries + 1))
  const now = () => new Date()
  const metrics = createMetrics(store, { defaultMetrics: options.defaultMetrics ?? true })
  const watch = createRunWatch({
    versions: (ids) => store.runVersions(ids),
    intervalMs: options.outbox?.watchIntervalMs,
    logger,
  })

  const images =
    options.images ??
    createImageReader({
      registries: settings.registries ?? [],
      timeoutMs: options.outboundTimeoutMs,
    })
  const runs = createRunService({
    store,
    chains: () => settings.chains,
    runsPerDelivery: settings.runsPerDelivery,
    now,
    logger,
    metrics,
    onWork: () => outbox.kick(),
    onRunChanged: (run) => watch.changed(run.id, run.version),
    silentRegistry: (registry) => images.silent?.(registry) ?? null,
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
    publicUrl,
    retryDelay,
    secrets: settings.secrets,
    logger,
    metrics,
    now,
  }
  // Always the store's pacer, SQLite included: one code path, a pace that survives a restart,
  // and a bounded wait for a slot, which keeps a backlog from outliving leases. Dispatches and
  // commit statuses share it: both are GitHub writes under the same credentials.
  const pacer = createClusterPacer(
    store,
    pacingKey(settings.github.auth, settings.github.apiUrl),
    settings.github.writesPerMinute,
    realClock,
    slotWaitLimit(leaseMs),
  )
  const outbox = new OutboxRunner({
    queue: store,
    owner,
    logger,
    now,
    leaseMs,
    pollMs,
    concurrency: options.outbox?.concurrency,
    handlers: {
      send: sendStepHandler({ ...common, runs, pacer }),
      [PREPARE_JOB]: prepareImageHandler({
        ...common,
        runs,
        images,
        chains: () => settings.chains,
        githubWebUrl: githubWebUrl(settings.github.apiUrl),
        tries: IMAGE_READ_TRIES,
      }),
      [COMMIT_STATUS_JOB]: commitStatusHandler({
        ...common,
        pacer,
        chains: () => settings.chains,
        tries: options.outbox?.registryTries ?? DEFAULT_REGISTRY_TRIES,
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

  const app = createApp({ store, runs, settings, logger, metrics, watch, limits })
  const connections = drainOnClose(server)
  server.on('request', connectionLimits.admitted(app))
  // `Expect: 100-continue` is answered by the routes once they have authenticated the request.
  server.on('checkContinue', (req, res) => server.emit('request', req, res))
  outbox.start()
  const deadlines = startDeadlineSweep(runs, { intervalMs: pollMs, logger })
  const retention = startRetention({
    store,
    maxAgeMs: settings.retentionMs,
    rejectedPayloadMs: settings.rejectedPayloadMs,
    logger,
  })
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${shown === '0.0.0.0' ? '127.0.0.1' : shown}:${address.port}`
  logger.info(
    { url, publicUrl, database: store.dialect, owner },
    'hookchain relay listening on %s',
    url,
  )

  let closing: Promise<void> | null = null
  return {
    url,
    app,
    publicUrl,
    store,
    runs,
    outbox,
    close() {
      closing ??= (async () => {
        // Long polls are answered now (nothing changed, as far as this relay knows), not cut.
        const draining = connections.close(options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS)
        watch.close()
        await draining
        retention.stop()
        await deadlines.stop()
        await outbox.stop()
        await store.close()
      })()
      return closing
    },
  }
}

/** Opens the store and applies its migrations; closes it again when they fail. */
async function openDatabase(
  databaseUrl: string,
  onFailure: ((error: Error) => void) | undefined,
): Promise<Store> {
  const fail = (error: unknown) =>
    new RelayStartError(
      `cannot open the database ${withoutPassword(databaseUrl)}: ${getErrorMessage(error)} (set by --database or DATABASE_URL)`,
    )
  let store: Store
  try {
    store = await openStore(databaseUrl, { onFailure })
  } catch (error) {
    throw fail(error)
  }
  try {
    await store.migrate()
  } catch (error) {
    await store.close().catch(() => {})
    throw fail(error)
  }
  return store
}

function withoutPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    if (url.password === '') return databaseUrl
    url.password = '***'
    return url.href
  } catch {
    return databaseUrl
  }
}

/** An HTTP server listening on `host:port`, with no request handler yet. */
function listen(port: number, host: string, limits: IntakeLimits): Promise<Server> {
  return new Promise((resolve, reject) => {
    // The read timeouts are checked this often: a slow client is cut within a second of them.
    const server = createServer({
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    })
    // Longer than the idle timeout of common load balancers (60 s), so that they close first.
    server.keepAliveTimeout = 65_000
    server.on('clientError', answerMalformedRequest)
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve(server)
    })
  })
}

function listenError(error: unknown, host: string, port: number): RelayStartError {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`
  const code = (error as NodeJS.ErrnoException).code
  const why =
    code === 'EADDRINUSE'
      ? 'another program already listens there; stop it, or choose another port (--port or PORT)'
      : code === 'EADDRNOTAVAIL'
        ? `no network interface of this machine has the address ${host}; choose another (--host or HOST)`
        : code === 'EACCES'
          ? 'permission denied; ports below 1024 need privileges, so choose a higher one (--port or PORT)'
          : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
            ? `the host name ${host} does not resolve; choose an address of this machine (--host or HOST)`
            : getErrorMessage(error)
  return new RelayStartError(`cannot listen on ${where}: ${why} (${code ?? 'error'})`)
}

/** The relay's own address, for callback URLs when public_url is not set. */
function defaultPublicUrl(address: AddressInfo): string {
  const local = ['0.0.0.0', '::', '127.0.0.1', '::1'].includes(address.address)
  const host = local
    ? 'localhost'
    : address.family === 'IPv6'
      ? `[${address.address}]`
      : address.address
  return `http://${host}:${address.port}`
}

/**
 * Once the server closes, every response still to be sent says `Connection: close` and each
 * keep-alive connection is ended as soon as it is idle, rather than held open by its client until
 * the keep-alive timeout; after `graceMs`, the connections left are cut.
 */
function drainOnClose(server: Server): { close(graceMs: number): Promise<void> } {
  const pending = new Set<ServerResponse>()
  let closing = false
  server.on('request', (_request, response: ServerResponse) => {
    if (closing) response.setHeader('Connection', 'close')
    pending.add(response)
    response.on('close', () => pending.delete(response))
  })
  return {
    close(graceMs) {
      closing = true
      for (const response of pending) {
        if (!response.headersSent) response.setHeader('Connection', 'close')
      }
      return new Promise((resolve) => {
        const sweep = setInterval(() => server.closeIdleConnections(), 50)
        const cut = setTimeout(() => server.closeAllConnections(), graceMs)
        server.close(() => {
          clearInterval(sweep)
          clearTimeout(cut)
          resolve()
        })
        server.closeIdleConnections()
      })
    },
  }
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
