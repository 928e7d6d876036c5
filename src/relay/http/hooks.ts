import type { Express, RequestHandler } from 'express'
import type { Settings } from '../config/settings.js'
import { IdentityUnavailable } from '../identity/verification-errors.js'
import type { Metrics } from '../metrics.js'
import type { RunService } from '../runs/service.js'
import { SOURCE_NAMES, SOURCES, sourceNamed } from '../sources/index.js'
import {
  type Source,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from '../sources/types.js'
import {
  bodyBytes,
  FORM_MEDIA_TYPE,
  jsonInForm,
  parseJson,
  rawBody,
  requireMediaType,
} from './body.js'
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
}

/**
 * `POST /hooks/<source>[/<secret>]`: answers 202 only once the event and its runs are committed.
 * A route of the app itself, not of a nested router, and the app's first: the busiest path of the
 * relay goes through no other layer.
 */
export function mountHooks(app: Express, deps: HooksDeps): void {
  app.post('/hooks/:source{/:secret}', rawBody, receiveHook(deps))
}

function receiveHook(deps: HooksDeps): RequestHandler<{ source: string; secret?: string }> {
  return async (req, res) => {
    const { source, settings } = enabledSource(req.params.source ?? '', deps.settings)
    const name = source.name
    if (req.params.secret !== undefined && !source.pathSecret) {
      throw problem(
        'not-found',
        `The ${name} source takes its deliveries at /hooks/${name}, with no further path.`,
      )
    }
    const receivedAt = deps.now()
    const raw = bodyBytes(req)
    const request: SourceRequest = {
      headers: req.headers,
      rawBody: raw,
      body: undefined,
      pathSecret: req.params.secret ?? null,
      receivedAt,
    }
    try {
      if ((await source.authenticate(request, settings)) !== 'authenticated') {
        throw new Error(`the ${name} source did not authenticate a request with its body`)
      }
    } catch (error) {
      if (error instanceof IdentityUnavailable) throw identityUnavailable(error, name)
      if (!(error instanceof SourceAuthError)) throw error
      deps.metrics?.events.inc({ source: name, outcome: 'unauthorized' })
      throw problem('unauthorized-source', error.message, {
        headers: { 'WWW-Authenticate': 'Bearer realm="hookchain"' },
      })
    }

    let normalised: ReturnType<Source['normalise']>
    let contentType: string
    /** The JSON text of a form delivery, kept instead of its form encoding. */
    let formPayload: string | undefined
    try {
      contentType = requireMediaType(req, ACCEPTED_TYPES.get(name) ?? [])
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
