import { createHmac } from 'node:crypto'
import { connect } from 'node:net'
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { expect } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import {
  fixture,
  GAR_SUBSCRIPTION,
  garSettings,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import { type LocalOidcIssuer, pubSubClaims, startOidcIssuer } from '../support/oidc-issuer.js'

/** The webhook routes of every source, with what each needs to get past authentication. */
export const SOURCE_ROUTES = {
  dockerhub: `/hooks/dockerhub/${SECRETS.dockerhub}`,
  quay: `/hooks/quay/${SECRETS.quay}`,
  distribution: '/hooks/distribution',
  github: '/hooks/github',
  harbor: '/hooks/harbor',
  artifactory: '/hooks/artifactory',
  nexus: '/hooks/nexus',
  gitea: '/hooks/gitea',
  acr: '/hooks/acr',
  ecr: '/hooks/ecr',
  gar: '/hooks/gar',
  cloudevents: '/hooks/cloudevents',
} as const

export type SourceName = keyof typeof SOURCE_ROUTES

/** The Pub/Sub token of the fuzz relay's gar source, minted when it starts (valid an hour). */
let garToken = ''

/** The headers that authenticate `body` (the bytes after any Content-Encoding) for a source. */
export function authFor(source: SourceName, body: Buffer): Record<string, string> {
  switch (source) {
    case 'distribution':
      return { authorization: `Bearer ${SECRETS.distribution}` }
    case 'harbor':
      return { authorization: SECRETS.harbor }
    case 'acr':
      return { authorization: `Bearer ${SECRETS.acr}` }
    case 'ecr':
      return { authorization: `Bearer ${SECRETS.ecr}` }
    case 'gar':
      return { authorization: `Bearer ${garToken}` }
    case 'cloudevents':
      return { authorization: `Bearer ${SECRETS.cloudevents}` }
    case 'github':
      return {
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRETS.github).update(body).digest('hex')}`,
      }
    case 'artifactory':
      return {
        'x-jfrog-event-auth': createHmac('sha256', SECRETS.artifactory).update(body).digest('hex'),
      }
    case 'nexus':
      return {
        'x-nexus-webhook-signature': createHmac('sha1', SECRETS.nexus).update(body).digest('hex'),
      }
    case 'gitea':
      return {
        'x-gitea-signature': createHmac('sha256', SECRETS.gitea).update(body).digest('hex'),
      }
    default:
      return {}
  }
}

export type Encoding = 'gzip' | 'deflate' | 'br'

export function encode(encoding: Encoding, body: Buffer): Buffer {
  switch (encoding) {
    case 'gzip':
      return gzipSync(body)
    case 'deflate':
      return deflateSync(body)
    case 'br':
      return brotliCompressSync(body)
  }
}

/**
 * The history pages, and the retry button on a run's page, answer a person's mistake with an
 * HTML page rather than problem+json.
 */
export function isPage(method: string, path: string): boolean {
  if (method === 'POST') return /^\/runs\/[^/?]+\/retry\/?(?:\?|$)/i.test(path)
  return (
    method === 'GET' && !/^\/+(?:api|hooks|callbacks|healthz|readyz|metrics)(?:[/?]|$)/.test(path)
  )
}

/**
 * A client's mistake gets a 4xx that says what to fix: problem+json with a detail (an HTML page on
 * the history pages). Never a 5xx. Consumes the body.
 */
export async function expectClientAnswer(
  response: Response,
  request: { method: string; path: string },
  allowed?: readonly number[],
): Promise<void> {
  const text = await response.text()
  const where = `${request.method} ${request.path.slice(0, 200)} → ${response.status} ${text.slice(0, 300)}`
  expect(response.status, where).toBeLessThan(500)
  if (allowed) expect(allowed, where).toContain(response.status)
  if (response.status < 400 || request.method === 'HEAD') return
  const type = response.headers.get('content-type') ?? ''
  if (isPage(request.method, request.path) && type.startsWith('text/html')) {
    expect(text, where).toContain(`${response.status}`)
    return
  }
  expect(type, where).toContain('application/problem+json')
  const problem = JSON.parse(text) as { status?: number; detail?: string; title?: string }
  expect(problem.status, where).toBe(response.status)
  expect(problem.title?.length, where).toBeGreaterThan(0)
  expect(problem.detail?.length, where).toBeGreaterThan(0)
}

export interface RawAnswer {
  /** The status line's code; null when the relay closed the connection without a word. */
  status: number | null
  head: string
  body: string
}

/**
 * Writes bytes to the relay over a plain socket, for requests no HTTP client would send, and reads
 * until the relay closes the connection or `timeoutMs` passes.
 */
export function rawRequest(url: string, bytes: Buffer | string, timeoutMs = 3000) {
  const { hostname, port } = new URL(url)
  return new Promise<RawAnswer>((resolve, reject) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      const text = Buffer.concat(chunks).toString('latin1')
      const [head = '', body = ''] = text.split('\r\n\r\n', 2)
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]
      resolve({ status: status ? Number(status) : null, head, body })
    }
    const timer = setTimeout(done, timeoutMs)
    socket.on('data', (chunk) => {
      chunks.push(chunk)
      // One answer is enough: the relay may keep the connection open for the next request.
      const text = Buffer.concat(chunks).toString('latin1')
      const length = /\r\ncontent-length: (\d+)/i.exec(text)?.[1]
      const end = text.indexOf('\r\n\r\n')
      if (end >= 0 && length !== undefined && text.length >= end + 4 + Number(length)) done()
    })
    socket.on('end', done)
    socket.on('close', done)
    socket.on('error', (error) => {
      if (chunks.length) done()
      else if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') done()
      else reject(error)
    })
    socket.write(bytes)
  })
}

/** A three-step release chain for the Docker Hub sample, and a webhook step for every image. */
export function fuzzChains(webhookUrl: string): Chain[] {
  return [
    {
      name: 'release',
      match: { repository: 'svendowideit/testhook', tags: ['v*', 'latest'] },
      stepTimeoutMs: 60_000,
      onFailure: [],
      notify: [],
      steps: [
        { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
        { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
        { kind: 'dispatch', repository: 'acme/announce', eventType: 'announce' },
      ],
    },
    {
      name: 'every-image',
      match: { repository: '**', tags: null },
      stepTimeoutMs: 60_000,
      onFailure: [],
      notify: [],
      steps: [
        { kind: 'webhook', url: webhookUrl, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
      ],
    },
  ]
}

export interface FuzzRelay {
  relay: TestRelay
  github: GitHubStandIn
  receiver: HttpReceiver
  /** Signs the gar source's Pub/Sub tokens. */
  issuer: LocalOidcIssuer
  close(): Promise<void>
}

/** A real relay on loopback, with a GitHub stand-in and a webhook and registry receiver. */
export async function startFuzzRelay(
  chains: (webhookUrl: string) => Chain[] = fuzzChains,
): Promise<FuzzRelay> {
  const github = await startGitHubStandIn()
  const receiver = await startHttpReceiver()
  const issuer = await startOidcIssuer()
  garToken = await issuer.sign(pubSubClaims(issuer, GAR_SUBSCRIPTION))
  const settings = testSettings(github.url, {
    chains: chains(`${receiver.url}/hook`),
    registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true },
  })
  settings.sources.gar = garSettings(issuer.url)
  const relay = await startTestRelay(settings)
  return {
    relay,
    github,
    receiver,
    issuer,
    async close() {
      await relay.close()
      await issuer.close()
      await receiver.close()
      await github.close()
    },
  }
}

/** Sends every source's sample push, so that runs, events and tokens exist to aim at. */
export async function seed(relay: TestRelay): Promise<{ runs: string[]; events: string[] }> {
  const samples: [SourceName, string, Record<string, string>][] = [
    ['dockerhub', 'dockerhub-push.json', {}],
    ['distribution', 'distribution-manifest-push.json', {}],
    ['harbor', 'harbor-push-artifact.json', {}],
    ['quay', 'quay-repo-push.json', {}],
    ['github', 'github-registry-package-published.json', { 'x-github-event': 'registry_package' }],
    ['artifactory', 'artifactory-pushed.json', {}],
    ['nexus', 'nexus-created.json', {}],
    ['gitea', 'gitea-package-created.json', { 'x-gitea-event': 'package' }],
    ['acr', 'acr-push.json', {}],
    ['ecr', 'ecr-push.json', {}],
    ['gar', 'gar-insert.json', {}],
    [
      'cloudevents',
      'cloudevents-harbor-push.json',
      { 'content-type': 'application/cloudevents+json' },
    ],
  ]
  const runs: string[] = []
  const events: string[] = []
  for (const [source, name, extra] of samples) {
    const body = Buffer.from(fixture(name))
    const response = await fetch(`${relay.url}${SOURCE_ROUTES[source]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authFor(source, body), ...extra },
      body,
    })
    expect(response.status, `${source}: ${await response.clone().text()}`).toBe(202)
    const answer = (await response.json()) as { event_id: string; runs: string[] }
    events.push(answer.event_id)
    runs.push(...answer.runs)
  }
  return { runs, events }
}
