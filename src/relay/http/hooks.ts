import type { Express, Request, RequestHandler } from 'express'
import type { Settings } from '../config/settings.js'
import { IdentityUnavailable } from '../identity/verification-errors.js'
import type { Metrics } from '../metrics.js'
import type { RunService } from '../runs/service.js'
import { singleHeader } from '../sources/headers.js'
import { SOURCE_NAMES, SOURCES, sourceNamed } from '../sources/index.js'
import {
  type Authentication,
  type AuthRequest,
  type Source,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from '../sources/types.js'
import {
  bodyBytes,
  budgetedBody,
  FORM_MEDIA_TYPE,
  jsonInForm,
  mediaType,
  parseJson,
  rawBody,
  requireMediaType,
} from './body.js'
import type { ByteBudget } from './byte-budget.js'
import { Problem, problem } from './problem.js'

/** The media types each source takes, listed once rather than on each delivery. */
const ACCEPTED_TYPES: ReadonlyMap<string, readonly string[]> = new Map(
  SOURCES.map((source) => [source.name, acceptedTypes(source)]),
)

function acceptedTypes(source: Pick<Source, 'contentTypes' | 'formField'>) {
  const form = source.formField === undefined ? [] : [FORM_MEDIA_TYPE]
  return ['application/json', ...source.contentTypes, ...form]
}

export interface HooksDeps {
  runs: RunService
  settings: Settings
  now: () => Date
  metrics?: Metrics
  /** Bounds the bodies read before their signature is checked. */
  budget: ByteBudget
}

/** What the hook's headers and path proved, before its body was read. */
interface HookLocals {
  authentication: Authentication
  /** The enabled source the path names, with its settings. */
  enabled: ReturnType<typeof enabledSource>
}

type HookHandler = RequestHandler<
  { source: string; secret?: string },
  unknown,
  unknown,
  Request['query'],
  HookLocals
>

/**
 * `POST /hooks/<source>[/<secret>]`: answers 202 only once the event and its runs are committed.
 * A route of the app itself, not of a nested router, and the app's first: the busiest path of the
 * relay goes through no other layer.
 */
export function mountHooks(app: Express, deps: HooksDeps): void {
  app.post('/hooks/:source{/:secret}', authenticateHeaders(deps), receiveHook(deps))
  // Only where a source takes the handshake: every other hook path keeps answering OPTIONS 405.
  for (const source of SOURCES) {
    if (source.handshake === 'cloudevents-webhook') {
      app.options(`/hooks/${source.name}`, answerHandshake(source, deps.settings))
    }
  }
}

/** A host name such as `eventgrid.azure.net`, which the handshake echoes only when it is one. */
const ORIGIN_HOST =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

/**
 * The CloudEvents webhook validation handshake (Azure Event Grid sends it before delivering):
 * `OPTIONS` with `WebHook-Request-Origin`, answered 200 with `WebHook-Allowed-Origin`. It asks
 * for no token: it changes nothing and tells nothing, and whether Event Grid adds its delivery
 * headers to it is not documented. Deliveries are authenticated as ever.
 */
function answerHandshake(source: Source, settings: Settings): RequestHandler {
  return (req: Request, res) => {
    enabledSource(source.name, settings)
    const origin = singleHeader(req.headers, 'webhook-request-origin')
    if (origin === null || !ORIGIN_HOST.test(origin)) {
      throw problem(
        'invalid-handshake',
        origin === null
          ? `OPTIONS /hooks/${source.name} is the CloudEvents webhook validation handshake: send one WebHook-Request-Origin header naming the sender's host (like eventgrid.azure.net); deliveries are POSTed.`
          : 'The WebHook-Request-Origin header is not a host name (like eventgrid.azure.net); the handshake is refused.',
        { headers: { Allow: 'OPTIONS, POST' } },
      )
    }
    res
      .status(200)
      .set({
        Allow: 'OPTIONS, POST',
        'WebHook-Allowed-Origin': origin,
        'WebHook-Allowed-Rate': '*',
      })
      .end()
  }
}

/**
 * Asks the source to authenticate the request from its headers and path alone, then reads the
 * body: a request without credentials is refused before its body is read. Sources whose
 * signature covers the body answer `body-needed`; their body is read within the budget and they
 * are asked again.
 */
function authenticateHeaders(deps: HooksDeps): HookHandler {
  const budgeted = budgetedBody(deps.budget)
  return async (req, res, next) => {
    const enabled = enabledSource(req.params.source ?? '', deps.settings)
    const { source, settings } = enabled
    res.locals.enabled = enabled
    if (req.params.secret !== undefined && !source.pathSecret) {
      throw problem(
        'not-found',
        `The ${source.name} source takes its deliveries at /hooks/${source.name}, with no further path.`,
      )
    }
    res.locals.authentication = await authenticate(deps, source, settings, {
      headers: req.headers,
      pathSecret: req.params.secret ?? null,
      rawBody: null,
    })
    if (res.locals.authentication === 'authenticated') rawBody(req, res, next)
    else budgeted(req, res, next)
  }
}

async function authenticate(
  deps: HooksDeps,
  source: Source,
  settings: unknown,
  request: AuthRequest,
): Promise<Authentication> {
  try {
    return await source.authenticate(request, settings)
  } catch (error) {
    if (error instanceof IdentityUnavailable) throw identityUnavailable(error, source.name)
    if (!(error instanceof SourceAuthError)) throw error
    deps.metrics?.events.inc({ source: source.name, outcome: 'unauthorized' })
    throw problem('unauthorized-source', error.message, {
      headers: { 'WWW-Authenticate': 'Bearer realm="hookchain"' },
    })
  }
}

function receiveHook(deps: HooksDeps): HookHandler {
  return async (req, res) => {
    const { source, settings } = res.locals.enabled
    const name = source.name
    const receivedAt = deps.now()
    const raw = bodyBytes(req)
    const request: SourceRequest = {
      headers: req.headers,
      rawBody: raw,
      body: undefined,
      pathSecret: req.params.secret ?? null,
      receivedAt,
    }
    if (
      res.locals.authentication === 'body-needed' &&
      (await authenticate(deps, source, settings, request)) !== 'authenticated'
    ) {
      throw new Error(`the ${name} source did not authenticate a request with its body`)
    }

    let normalised: ReturnType<Source['normalise']>
    let contentType: string
    /** The JSON text of a form delivery, kept instead of its form encoding. */
    let formPayload: string | undefined
    try {
      const accepted = ACCEPTED_TYPES.get(name) ?? []
      const refused = source.refusedContentTypes ?? {}
      const type = mediaType(req) ?? ''
      if (Object.hasOwn(refused, type)) {
        throw problem('unsupported-media-type', refused[type] as string, {
          extensions: { accepted },
        })
      }
      contentType = requireMediaType(req, accepted)
      if (contentType === FORM_MEDIA_TYPE && source.formField !== undefined) {
        const form = jsonInForm(raw, source.formField)
        formPayload = form.text
        request.body = form.value
      } else {
        request.body = parseJson(raw)
      }
      normalised = source.normalise(request, settings)
    } catch (error) {
      const found = asProblem(error, name)
      await deps.runs.reject({
        source: name,
        raw,
        shown: formPayload === undefined ? raw : Buffer.from(formPayload),
        contentType: req.headers['content-type'] ?? null,
        receivedAt,
        reason: `${found.status} ${found.title}: ${found.detail}`,
      })
      throw found
    }

    const { duplicate, event } = await deps.runs.ingest({
      source: name,
      normalised,
      contentType,
      payload: formPayload ?? raw.toString('utf8'),
      receivedAt,
    })
    res.status(202).json({
      event_id: event.id,
      duplicate,
      outcome: event.outcome,
      reason: event.reason,
      runs: event.runIds,
    })
  }
}

function enabledSource(name: string, settings: Settings) {
  const source = sourceNamed(name)
  if (!source) {
    throw problem(
      'unknown-source',
      `There is no source named "${name}"; use one of ${SOURCE_NAMES.join(', ')}.`,
    )
  }
  if (!Object.hasOwn(settings.sources, source.name)) {
    throw problem(
      'source-disabled',
      `The ${source.name} source is not enabled; add sources.${source.name} to the relay config.`,
    )
  }
  return { source, settings: settings.sources[source.name] }
}

/** The keys that check the source's tokens could not be fetched: not the sender's fault, and not for long. */
function identityUnavailable(error: IdentityUnavailable, source: string): Problem {
  return problem(
    'identity-unavailable',
    `The relay could not check the ${source} token, so nothing of this delivery was kept: ${error.message}. Send it again later.`,
    { headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) } },
  )
}

function asProblem(error: unknown, source: string): Problem {
  if (error instanceof Problem) return error
  if (error instanceof SourcePayloadError) {
    return problem('invalid-payload', error.message, {
      extensions: { errors: [{ pointer: error.pointer, detail: error.message }], source },
    })
  }
  throw error
}
