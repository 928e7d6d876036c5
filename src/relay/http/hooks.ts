import { createHash } from 'node:crypto'
import type { Express, Request, RequestHandler } from 'express'
import type { Logger } from 'pino'
import { takeIn } from '../chains/intake.js'
import type { Settings } from '../config/settings.js'
import { newId } from '../ids.js'
import type { Metrics } from '../metrics.js'
import { sourceNamed, sources } from '../sources/index.js'
import {
  SOURCE_NAMES,
  type Source,
  SourceAuthError,
  type SourceName,
  SourcePayloadError,
  type SourceRequest,
} from '../sources/types.js'
import type { Store } from '../store/store.js'
import {
  bodyBytes,
  FORM_MEDIA_TYPE,
  jsonInForm,
  parseJson,
  rawBody,
  requireMediaType,
} from './body.js'
import { Problem } from './problem.js'

/** The sources whose secret is the last segment of the webhook URL. */
const PATH_SECRET_SOURCES: readonly SourceName[] = ['dockerhub', 'quay']

/** The media types each source takes, listed once rather than on each delivery. */
const ACCEPTED_TYPES: ReadonlyMap<SourceName, readonly string[]> = new Map(
  SOURCE_NAMES.map((name) => [name, acceptedTypes(sources[name])]),
)

function acceptedTypes(source: Pick<Source<unknown>, 'contentTypes' | 'formField'>) {
  const form = source.formField === undefined ? [] : [FORM_MEDIA_TYPE]
  return ['application/json', ...source.contentTypes, ...form]
}

export interface HooksDeps {
  store: Store
  settings: Settings
  logger: Logger
  now: () => Date
  /** Called when a delivery committed new outbox jobs. */
  onWork: () => void
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
    const { name, source, secrets } = enabledSource(req.params.source ?? '', deps.settings)
    if (req.params.secret !== undefined && !PATH_SECRET_SOURCES.includes(name)) {
      throw new Problem(
        404,
        'not-found',
        'Not found',
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
      source.authenticate(request, secrets)
    } catch (error) {
      if (!(error instanceof SourceAuthError)) throw error
      deps.metrics?.events.inc({ source: name, outcome: 'unauthorized' })
      throw new Problem(
        401,
        'unauthorized-source',
        'Not authenticated',
        error.message,
        {},
        {
          'WWW-Authenticate': 'Bearer realm="hookchain"',
        },
      )
    }

    let normalised: ReturnType<Source<unknown>['normalise']>
    let contentType: string
    /** The JSON text of a form delivery, kept instead of its form encoding. */
    let formPayload: string | undefined
    try {
      contentType = requireMediaType(req, ACCEPTED_TYPES.get(name) as readonly string[])
      if (contentType === FORM_MEDIA_TYPE && source.formField !== undefined) {
        const form = jsonInForm(raw, source.formField)
        formPayload = form.text
        request.body = form.value
      } else {
        request.body = parseJson(raw)
      }
      normalised = source.normalise(request)
    } catch (error) {
      const problem = asProblem(error, name)
      const shown = formPayload === undefined ? raw : Buffer.from(formPayload)
      await recordRejected(deps, name, req, raw, shown, receivedAt, problem)
      throw problem
    }

    const payload = formPayload ?? raw.toString('utf8')
    const intake = takeIn(
      { source: name, normalised, contentType, payload, receivedAt },
      deps.settings.chains,
    )
    const { duplicate, event } = await deps.store.recordEvent(
      intake.event,
      intake.runs,
      intake.jobs,
    )
    deps.metrics?.events.inc({ source: name, outcome: duplicate ? 'duplicate' : event.outcome })
    deps.logger.info(
      {
        event: event.id,
        source: name,
        delivery: event.deliveryId,
        outcome: event.outcome,
        runs: event.runIds,
        duplicate,
      },
      duplicate ? 'event %s: repeated delivery, nothing new started' : 'event %s: %s',
      event.id,
      event.reason ?? `${event.runIds.length} run(s) started`,
    )
    if (!duplicate && intake.jobs.length) deps.onWork()
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
    throw new Problem(
      404,
      'unknown-source',
      'Unknown source',
      `There is no source named "${name}"; use one of ${SOURCE_NAMES.join(', ')}.`,
    )
  }
  const secrets = settings.sources[source.name]
  if (!secrets) {
    throw new Problem(
      404,
      'source-disabled',
      'Source not enabled',
      `The ${source.name} source is not enabled; add sources.${source.name} to the relay config.`,
    )
  }
  return { name: source.name, source: source as Source<unknown>, secrets: secrets as unknown }
}

function asProblem(error: unknown, source: SourceName): Problem {
  if (error instanceof Problem) return error
  if (error instanceof SourcePayloadError) {
    return new Problem(422, 'invalid-payload', 'Not a push payload', error.message, {
      errors: [{ pointer: error.pointer, detail: error.message }],
      source,
    })
  }
  throw error
}

/** How much of a rejected body is kept: enough to see what was wrong with it, not a flood's worth. */
export const REJECTED_PAYLOAD_BYTES = 64 * 1024

/**
 * An authenticated delivery the relay cannot use is kept too, so the history shows why nothing ran.
 * `shown` is what the history keeps of it: the body, or the JSON its form carried.
 */
async function recordRejected(
  deps: HooksDeps,
  source: SourceName,
  req: Request,
  raw: Buffer,
  shown: Buffer,
  receivedAt: Date,
  problem: Problem,
) {
  const kept = shown.subarray(0, REJECTED_PAYLOAD_BYTES)
  const cut =
    kept.length < shown.length
      ? ` (the first ${kept.length} of its ${shown.length} bytes are kept)`
      : ''
  const event = {
    id: newId(receivedAt.getTime()),
    source,
    deliveryId: `rejected:sha256:${createHash('sha256').update(raw).digest('hex')}`,
    receivedAt: receivedAt.toISOString(),
    outcome: 'rejected' as const,
    reason: `${problem.status} ${problem.title}: ${problem.detail}${cut}`,
    contentType: req.headers['content-type'] ?? null,
    payload: kept.toString('utf8'),
    pushes: [],
    runIds: [],
  }
  try {
    await deps.store.recordEvent(event, [], [])
    deps.metrics?.events.inc({ source, outcome: 'rejected' })
  } catch (error) {
    deps.logger.warn({ err: error }, 'could not record a rejected delivery')
  }
  deps.logger.info(
    { event: event.id, source, outcome: 'rejected', status: problem.status },
    'event %s rejected: %s',
    event.id,
    problem.detail,
  )
}
