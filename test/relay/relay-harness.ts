import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Chain, Settings } from '../../src/relay/config/settings.js'
import { createImageReader, type ImageReader } from '../../src/relay/deliverers/registry-reader.js'
import { type Relay, type RelayOptions, startRelay } from '../../src/relay/main.js'
import { STAND_IN_TOKEN } from '../support/github-stand-in.js'
import { dropSchema, newSchemaName, schemaUrl } from './store/postgres-factory.js'

export const SECRETS = {
  dockerhub: 'dockerhub-secret-0123456789',
  distribution: 'distribution-token-0123456789',
  github: 'github-webhook-secret-0123456789',
  harbor: 'harbor-token-0123456789abcdef',
  quay: 'quay-secret-0123456789abcdef',
  artifactory: 'jfrog-secret-0123456789abcdef',
  nexus: 'nexus-secret-0123456789abcdef',
  gitea: 'gitea-secret-0123456789abcdef',
  acr: 'acr-token-0123456789abcdef',
  ecr: 'ecr-token-0123456789abcdef',
  cloudevents: 'cloudevents-token-0123456789',
  admin: 'admin-token-0123456789abcdef',
}

export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/sources/${name}`, import.meta.url), 'utf8')
}

export const twoSteps: Chain = {
  name: 'release',
  match: { repository: 'svendowideit/testhook', tags: ['latest', 'v*'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}

export function testSettings(githubUrl: string, overrides: Partial<Settings> = {}): Settings {
  return {
    publicUrl: 'http://relay.test',
    adminToken: SECRETS.admin,
    github: {
      apiUrl: githubUrl,
      auth: { kind: 'token', token: STAND_IN_TOKEN },
      writesPerMinute: 0,
    },
    sources: {
      dockerhub: { secret: SECRETS.dockerhub },
      distribution: { token: SECRETS.distribution },
      github: { webhookSecret: SECRETS.github },
      harbor: { token: SECRETS.harbor },
      quay: { secret: SECRETS.quay },
      artifactory: {
        secret: SECRETS.artifactory,
        registry: 'acme.jfrog.io',
        repositories: new Map(),
      },
      nexus: { secret: SECRETS.nexus, registry: 'nexus.acme.com:8443', repositories: new Map() },
      gitea: { secret: SECRETS.gitea, registry: null },
      acr: { token: SECRETS.acr },
      ecr: { token: SECRETS.ecr },
      cloudevents: { token: SECRETS.cloudevents, registry: 'zot.acme.com:5000' },
    },
    sourceBlocks: {
      dockerhub: { secret: SECRETS.dockerhub },
      distribution: { token: SECRETS.distribution },
      github: { webhook_secret: SECRETS.github },
      harbor: { token: SECRETS.harbor },
      quay: { secret: SECRETS.quay },
      artifactory: { secret: SECRETS.artifactory, registry: 'acme.jfrog.io' },
      nexus: { secret: SECRETS.nexus, registry: 'nexus.acme.com:8443' },
      gitea: { secret: SECRETS.gitea },
      acr: { token: SECRETS.acr },
      ecr: { token: SECRETS.ecr },
      cloudevents: { token: SECRETS.cloudevents, registry: 'zot.acme.com:5000' },
    },
    registryCallbacks: { allowedHosts: [], allowHttp: false },
    secrets: Object.values(SECRETS),

    chains: [twoSteps],
    retentionMs: null,
    rejectedPayloadMs: 7 * 86_400_000,
    runsPerDelivery: 100,
    metricsRequireAdmin: false,
    ...overrides,
  }
}

/** The Pub/Sub push subscription of the gar source's tests: its token audience and service account. */
export const GAR_SUBSCRIPTION = {
  audience: 'http://relay.test/hooks/gar',
  serviceAccount: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
}

/** `sources.gar` for tokens of `issuer` (a local one: test/support/oidc-issuer.ts). */
export function garSettings(issuer: string) {
  return { ...GAR_SUBSCRIPTION, issuer }
}

export interface TestRelay {
  relay: Relay
  url: string
  /** The SQLite file (unused when the suite runs on PostgreSQL). */
  databaseFile: string
  settings: Settings
  /** POSTs to the relay; a non-string body is sent as JSON. */
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>
  /** GETs from the relay with the admin token. */
  api<T = unknown>(path: string): Promise<T>
  /** Replaces the public callback base with this relay's real address. */
  local(callbackUrl: string): string
  close(): Promise<void>
}

/**
 * The registries of `settings.registries` read for real; any other (docker.io, quay.io…) is not
 * reached from a test, and a run says so in its notes.
 */
export function listedRegistriesOnly(settings: Settings): ImageReader {
  const reader = createImageReader({ registries: settings.registries ?? [], timeoutMs: 2000 })
  return {
    read(image, want) {
      if ((settings.registries ?? []).some((r) => r.host === image.registry)) {
        return reader.read(image, want)
      }
      return Promise.resolve({
        digest: null,
        labels: null,
        attempts: [],
        problem: `${image.registry} is not reached from tests`,
        retryable: false,
      })
    },
  }
}

/** A real relay on 127.0.0.1, port 0, with a real SQLite file in a temporary folder. */
export async function startTestRelay(
  settings: Settings,
  options: Partial<RelayOptions> = {},
): Promise<TestRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-relay-'))
  const databaseFile = join(dir, 'hookchain.db')
  // The same suites run on PostgreSQL in the `relay on postgres` vitest project.
  const schema = process.env.HOOKCHAIN_TEST_DATABASE === 'postgres' ? newSchemaName() : null
  const relay = await startRelay({
    settings,
    databaseUrl: schema ? schemaUrl(schema) : `sqlite:${databaseFile}`,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    defaultMetrics: false,
    images: listedRegistriesOnly(settings),
    ...options,
    outbox: { pollMs: 20, retryDelay: () => 50, ...options.outbox },
  })
  return {
    relay,
    url: relay.url,
    databaseFile,
    settings,
    post(path, body, headers = {}) {
      const text = typeof body === 'string' ? body : JSON.stringify(body)
      return fetch(`${relay.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: text,
      })
    },
    async api<T>(path: string): Promise<T> {
      const response = await fetch(`${relay.url}${path}`, {
        headers: { authorization: `Bearer ${SECRETS.admin}` },
      })
      if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`)
      return (await response.json()) as T
    },
    local(callbackUrl) {
      return callbackUrl.replace(relay.publicUrl, relay.url)
    },
    async close() {
      await relay.close()
      if (schema) await dropSchema(schema)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Polls `probe` until it returns something other than undefined. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
