import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import {
  authFor,
  type Encoding,
  encode,
  expectClientAnswer,
  type FuzzRelay,
  SOURCE_ROUTES,
  type SourceName,
  seed,
  startFuzzRelay,
} from './fuzz-relay.js'
import { storedStateProblems } from './stored-state.js'

let fuzz: FuzzRelay
let known: { runs: string[]; events: string[]; callbacks: string[] }

beforeAll(async () => {
  fuzz = await startFuzzRelay()
  const { runs, events } = await seed(fuzz.relay)
  const dispatches = await fuzz.github.waitForDispatches(1)
  const hooks = await fuzz.receiver.waitForRequests(1)
  const callbacks = [
    ...dispatches.map((d) => String(d.clientPayload?.callback_url)),
    ...hooks.map((h) => String((h.body as { callback_url?: string }).callback_url)),
  ].map((url) => new URL(url).pathname)
  known = { runs, events, callbacks }
})
afterAll(async () => {
  await fuzz?.close()
})

const SAMPLES: Record<SourceName, string[]> = {
  dockerhub: ['dockerhub-push.json'],
  distribution: [
    'distribution-manifest-push.json',
    'distribution-blob-push.json',
    'distribution-pull.json',
    'distribution-envelope-several.json',
  ],
  harbor: [
    'harbor-push-artifact.json',
    'harbor-pull-artifact.json',
    'harbor-push-artifact-cloudevents.json',
  ],
  quay: ['quay-repo-push.json', 'quay-build-success.json'],
  acr: [
    'acr-push.json',
    'acr-delete.json',
    'acr-chart-push.json',
    'acr-quarantine.json',
    'acr-ping.json',
  ],
  ecr: ['ecr-push.json', 'ecr-delete.json', 'ecr-push-failed.json', 'ecr-image-scan.json'],
  gar: [
    'gar-insert.json',
    'gar-insert-tag-only.json',
    'gar-insert-digest-only.json',
    'gar-delete.json',
  ],
  github: [
    'github-registry-package-published.json',
    'github-package-published.json',
    'github-package-npm.json',
    'github-ping.json',
  ],
  artifactory: [
    'artifactory-pushed.json',
    'artifactory-pushed-list-manifest.json',
    'artifactory-deleted.json',
    'artifactory-artifact-deployed.json',
  ],
  nexus: [
    'nexus-created.json',
    'nexus-updated.json',
    'nexus-deleted.json',
    'nexus-created-maven.json',
  ],
  gitea: [
    'gitea-package-created.json',
    'gitea-package-created-digest.json',
    'gitea-package-deleted.json',
    'forgejo-package-created.json',
  ],
  cloudevents: [
    'cloudevents-zot-image-updated-binary.json',
    'cloudevents-zot-image-updated.json',
    'cloudevents-harbor-push.json',
    'cloudevents-eventgrid-acr-pushed.json',
    'cloudevents-other-type.json',
  ],
}
const SOURCES = Object.keys(SOURCE_ROUTES) as SourceName[]

/** Sets `value` somewhere inside a JSON document, following `path` (indexes taken modulo). */
function mutate(document: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || document === null || typeof document !== 'object') return value
  const [head = 0, ...rest] = path
  if (Array.isArray(document)) {
    if (document.length === 0) return [value]
    const copy = [...document]
    copy[head % copy.length] = mutate(copy[head % copy.length], rest, value)
    return copy
  }
  const keys = Object.keys(document)
  if (keys.length === 0) return { x: value }
  const key = keys[head % keys.length] as string
  return { ...document, [key]: mutate((document as Record<string, unknown>)[key], rest, value) }
}

/** Serialises anything, even what JSON.stringify refuses or drops. */
function serialise(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const sample = (source: SourceName) =>
  fc.constantFrom(...SAMPLES[source]).map((name) => fixture(name))

const body = (source: SourceName) =>
  fc.oneof(
    { weight: 3, arbitrary: sample(source) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(sample(source), fc.array(fc.nat(), { maxLength: 6 }), fc.jsonValue({ maxDepth: 3 }))
        .map(([text, path, value]) => JSON.stringify(mutate(JSON.parse(text), path, value))),
    },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.anything().map(serialise) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 2000 }) },
    {
      weight: 1,
      arbitrary: sample(source).chain((text) =>
        fc.nat({ max: text.length }).map((cut) => text.slice(0, cut)),
      ),
    },
  )

const bytes = (source: SourceName) =>
  fc.oneof(
    { weight: 9, arbitrary: body(source).map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b)) },
  )

const anyContentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/vnd.docker.distribution.events.v1+json',
  'application/vnd.docker.distribution.events.v2+json',
  'application/cloudevents+json',
  'application/cloudevents+json; charset=utf-8',
  'application/cloudevents-batch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=nope',
  'application/',
  ';;;',
  undefined,
)

const contentType = fc.oneof(
  { weight: 3, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: anyContentType },
)

/** How the body goes on the wire: as is, compressed as declared, or declared but not compressed. */
const wireEncoding = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ header: undefined, compress: null }) },
  {
    weight: 3,
    arbitrary: fc
      .constantFrom<Encoding>('gzip', 'deflate', 'br')
      .map((e) => ({ header: e as string | undefined, compress: e as Encoding | null })),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        'gzip',
        'deflate',
        'br',
        'identity',
        'zstd',
        'compress',
        'gzip, br',
        'GZIP',
        'x',
      )
      .map((header) => ({ header: header as string | undefined, compress: null })),
  },
)

/** Header names and values a client could send (visible ASCII), for headers the relay never reads. */
const OWN_HEADERS =
  /^(host|connection|content-length|transfer-encoding|keep-alive|upgrade|expect|te|trailer|proxy-.*|content-(type|encoding)|authorization|x-hub-signature-256|x-github-event|x-jfrog-event-auth|x-nexus-webhook-.*|x-(gitea|forgejo)-.*|sec-fetch-site)$/
const headerToken = fc
  .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
  .filter((name) => !OWN_HEADERS.test(name))
const headerValue = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,200}$/)
const extraHeaders = fc.dictionary(headerToken, headerValue, { maxKeys: 3 })

/** A binary CloudEvent's headers: Zot's, one of them changed to anything, or none. */
const zotHeaders = JSON.parse(
  fixture('cloudevents-zot-image-updated-binary.headers.json'),
) as Record<string, string>
const ceHeaders = fc.oneof(
  fc.constant({}),
  fc.constant(zotHeaders),
  fc
    .tuple(
      fc.constantFrom('ce-id', 'ce-source', 'ce-specversion', 'ce-type', 'ce-time', 'ce-x'),
      fc.oneof(headerValue, fc.constantFrom('%', '%C0%A0', '%FF', '"\\"', '""', '%00')),
    )
    .map(([name, value]) => ({ ...zotHeaders, [name]: value })),
)

const githubEvent = fc.constantFrom(
  'registry_package',
  'package',
  'ping',
  'push',
  '',
  'x'.repeat(300),
)

interface Request {
  method: string
  path: string
  headers: Record<string, string>
  body?: Buffer
}

/** A delivery to a source's own route, signed or authorised right most of the time. */
const delivery: fc.Arbitrary<Request> = fc
  .constantFrom(...SOURCES)
  .chain((source) =>
    fc.record({
      source: fc.constant(source),
      raw: bytes(source),
      type: contentType,
      encoding: wireEncoding,
      authorised: fc.oneof(
        { weight: 4, arbitrary: fc.constant(true) },
        { weight: 1, arbitrary: fc.constant(false) },
      ),
      event: githubEvent,
      cloudEvent: ceHeaders,
      extra: extraHeaders,
    }),
  )
  .map(({ source, raw, type, encoding, authorised, event, cloudEvent, extra }) => {
    const headers: Record<string, string> = { ...extra }
    if (source === 'cloudevents') Object.assign(headers, cloudEvent)
    if (type) headers['content-type'] = type
    if (encoding.header) headers['content-encoding'] = encoding.header
    if (source === 'github') headers['x-github-event'] = event
    if (source === 'gitea')
      headers['x-gitea-event'] = event === 'registry_package' ? 'package' : event
    Object.assign(headers, authorised ? authFor(source, raw) : { authorization: 'Bearer wrong' })
    return {
      method: 'POST',
      path: SOURCE_ROUTES[source],
      headers,
      body: encoding.compress ? encode(encoding.compress, raw) : raw,
    }
  })

/** An id as a client might put it in a path: a real one, a mangled one, or anything. */
const idLike = (pick: () => readonly string[]) =>
  fc.oneof(
    fc.nat().map((i) => pick()[i % pick().length] ?? 'none'),
    fc.nat().map((i) => `${pick()[i % pick().length] ?? ''}x`),
    fc.string({ maxLength: 300 }).map(encodeURIComponent),
    fc.constantFrom(
      '%',
      '%zz',
      '%00',
      '..',
      '%2e%2e%2fetc',
      'a%2Fb',
      '\u00e9'.repeat(3),
      '-1',
      '0',
    ),
  )

const path: fc.Arbitrary<string> = fc.oneof(
  idLike(() => known.runs).map((id) => `/api/runs/${id}`),
  idLike(() => known.runs).map((id) => `/api/runs/${id}/retry`),
  idLike(() => known.events).map((id) => `/api/events/${id}`),
  idLike(() => known.events).map((id) => `/api/events/${id}/redeliver`),
  idLike(() => known.runs).map((id) => `/runs/${id}`),
  idLike(() => known.runs).map((id) => `/runs/${id}/retry`),
  idLike(() => known.events).map((id) => `/events/${id}`),
  idLike(() => known.callbacks.map((c) => c.slice('/callbacks/'.length))).map(
    (token) => `/callbacks/${token}`,
  ),
  idLike(() => Object.values(SECRETS)).map((secret) => `/hooks/dockerhub/${secret}`),
  fc.string({ maxLength: 40 }).map((name) => `/hooks/${encodeURIComponent(name)}`),
  fc.constantFrom(
    '/',
    '/api/runs',
    '/api/events',
    '/events',
    '/healthz',
    '/readyz',
    '/metrics',
    '/assets/hookchain.css',
    '/assets/favicon.svg',
    '/assets/nope',
    '/api',
    '/hooks',
    '/hooks/cloudevents',
    '/callbacks',
    '//',
    '/%',
  ),
  fc.array(fc.webSegment(), { maxLength: 6 }).map((segments) => `/${segments.join('/')}`),
)

const query = fc.option(
  fc.oneof(
    fc
      .dictionary(
        fc.constantFrom('state', 'chain', 'repository', 'cursor', 'limit', 'source', 'outcome'),
        fc.string({ maxLength: 400 }),
      )
      .map((q) => new URLSearchParams(q).toString()),
    fc.webQueryParameters(),
    fc.constantFrom('limit=1&limit=2', 'state[]=running', 'cursor=%', '%=%', 'a=%zz'),
  ),
  { nil: undefined },
)

/** Any method, any path of the relay, with or without the admin token, any body and headers. */
const anyRequest: fc.Arbitrary<Request> = fc
  .record({
    method: fc.constantFrom(
      'GET',
      'GET',
      'POST',
      'POST',
      'HEAD',
      'PUT',
      'DELETE',
      'PATCH',
      'OPTIONS',
    ),
    path,
    query,
    admin: fc.constantFrom<'bearer' | 'basic' | 'wrong' | 'none'>(
      'bearer',
      'bearer',
      'basic',
      'wrong',
      'none',
    ),
    sameSite: fc.boolean(),
    raw: bytes('dockerhub'),
    type: contentType,
    encoding: wireEncoding,
    extra: extraHeaders,
  })
  .map(({ method, path, query, admin, sameSite, raw, type, encoding, extra }) => {
    const headers: Record<string, string> = { ...extra }
    if (admin === 'bearer') headers.authorization = `Bearer ${SECRETS.admin}`
    if (admin === 'basic')
      headers.authorization = `Basic ${Buffer.from(`admin:${SECRETS.admin}`).toString('base64')}`
    if (admin === 'wrong') headers.authorization = 'Bearer nope'
    headers['sec-fetch-site'] = sameSite ? 'same-origin' : 'cross-site'
    const withBody = method !== 'GET' && method !== 'HEAD'
    if (withBody && type) headers['content-type'] = type
    if (withBody && encoding.header) headers['content-encoding'] = encoding.header
    return {
      method,
      path: query === undefined ? path : `${path}?${query}`,
      headers,
      body: withBody ? (encoding.compress ? encode(encoding.compress, raw) : raw) : undefined,
    }
  })

/** Sends the request; its path becomes the one on the wire (a client resolves `..` and the like). */
async function send(request: Request): Promise<Response> {
  const url = new URL(`${fuzz.relay.url}${request.path}`)
  request.path = `${url.pathname}${url.search}`
  return fetch(url, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
  })
}

describe('random requests on every route of a real relay', () => {
  it('answers every delivery to a source without a 5xx, and every 4xx as problem+json', async () => {
    await fc.assert(
      fc.asyncProperty(delivery, async (request) => {
        await expectClientAnswer(await send(request), request, [202, 400, 401, 413, 415, 422])
      }),
      { numRuns: 2500, interruptAfterTimeLimit: 45_000 },
    )
  })

  it('answers any method on any path without a 5xx, and every 4xx as problem+json or an error page', async () => {
    await fc.assert(
      fc.asyncProperty(anyRequest, async (request) => {
        await expectClientAnswer(await send(request), request)
      }),
      { numRuns: 3000, interruptAfterTimeLimit: 45_000 },
    )
  })

  it('answers random callback bodies on live tokens with 200, 400, 404, 409, 413, 415 or 422 only', async () => {
    const reportBody = fc.record(
      {
        state: fc.oneof(
          fc.constantFrom('pending', 'success', 'failure', 'error', 'done', 'SUCCESS'),
          fc.jsonValue(),
        ),
        description: fc.oneof(fc.string({ maxLength: 300 }), fc.jsonValue()),
        context: fc.string({ maxLength: 120 }),
        target_url: fc.oneof(
          fc.webUrl(),
          fc.string({ maxLength: 50 }),
          fc.constant('javascript:alert(1)'),
        ),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    await fc.assert(
      fc.asyncProperty(fc.nat(), reportBody, contentType, async (pick, value, type) => {
        const path = known.callbacks[pick % known.callbacks.length] ?? '/callbacks/none'
        const request: Request = {
          method: 'POST',
          path,
          headers: type ? { 'content-type': type } : {},
          body: Buffer.from(JSON.stringify(value)),
        }
        await expectClientAnswer(
          await send(request),
          request,
          [200, 400, 404, 409, 413, 415, 422, 429],
        )
      }),
      { numRuns: 800, interruptAfterTimeLimit: 30_000 },
    )
  })

  it('still serves, and leaves the stored state consistent', async () => {
    expect((await fetch(`${fuzz.relay.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${fuzz.relay.url}/readyz`)).status).toBe(200)
    const problems = await eventually(() => {
      const found = storedStateProblems(fuzz.relay.databaseFile, { settled: true })
      return found.length === 0 ? found : undefined
    }, 5000).catch(() => storedStateProblems(fuzz.relay.databaseFile, { settled: true }))
    expect(problems).toEqual([])
    const events = await fuzz.relay.api<{ events: unknown[] }>('/api/events?limit=100')
    expect(events.events.length).toBeGreaterThan(10)
  })
})

describe('cross-site requests with valid credentials', () => {
  // A browser sends cached credentials with another site's form or fetch: what it says of the
  // request's origin must stop it before any handler, whatever else the request holds.
  // Ids that reach the route: real ones, and others that name nothing.
  const id = (pick: () => readonly string[]) =>
    fc.oneof(
      fc.nat().map((i) => pick()[i % pick().length] ?? 'none'),
      fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/),
    )
  const actions = fc.oneof(
    ...['retry', 'cancel', 'steps/1/approve', 'steps/1/reject', 'steps/2.1/approve'].flatMap(
      (action) => [
        id(() => known.runs).map((run) => `/api/runs/${run}/${action}`),
        id(() => known.runs).map((run) => `/runs/${run}/${action}`),
      ],
    ),
    id(() => known.events).map((event) => `/api/events/${event}/redeliver`),
  )
  const crossSite = fc.oneof(
    fc.record({ 'sec-fetch-site': fc.constantFrom('cross-site', 'same-site') }),
    fc.record({
      origin: fc.oneof(
        fc.domain().map((domain) => `https://${domain}`),
        fc.constantFrom('null', 'http://127.0.0.1:1', 'http://relay.test.evil.example'),
      ),
    }),
  )

  it('are refused with 403 cross-site-request, whatever the body, type and credentials', async () => {
    await fc.assert(
      fc.asyncProperty(
        actions,
        crossSite,
        fc.constantFrom<'bearer' | 'basic'>('bearer', 'basic'),
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
        ),
        fc.oneof(fc.constant(''), fc.json({ maxDepth: 2 })),
        async (path, site, admin, type, body) => {
          const authorization =
            admin === 'bearer'
              ? `Bearer ${SECRETS.admin}`
              : `Basic ${Buffer.from(`admin:${SECRETS.admin}`).toString('base64')}`
          const request: Request = {
            method: 'POST',
            path,
            headers: { ...site, authorization, 'content-type': type },
            body: Buffer.from(body),
          }
          const response = await send(request)
          expect(response.status, `${path} ${JSON.stringify(site)}`).toBe(403)
          const answer = (await response.json()) as { type: string }
          expect(answer.type).toMatch(/cross-site-request$/)
        },
      ),
      { numRuns: 600, interruptAfterTimeLimit: 20_000 },
    )
  })

  it('are let through from the same origin, and then checked as usual', async () => {
    const id = known.runs[0] ?? 'none'
    const response = await send({
      method: 'POST',
      path: `/api/runs/${id}/retry`,
      headers: {
        'sec-fetch-site': 'same-origin',
        authorization: `Bearer ${SECRETS.admin}`,
        'content-type': 'text/plain',
      },
      body: Buffer.from('{}'),
    })
    expect(response.status).toBe(415)
  })
})
