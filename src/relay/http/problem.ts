import { STATUS_CODES } from 'node:http'
import type { ErrorRequestHandler, Request, Response } from 'express'
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'
import { RunRefused } from '../runs/refusal.js'
import { SOURCES } from '../sources/index.js'

/** Every problem the relay answers with: its HTTP status and its title, one place each. */
const PROBLEM_TYPES = {
  'malformed-request': { status: 400, title: 'Bad Request' },
  'bad-request': { status: 400, title: 'Bad request' },
  'invalid-query': { status: 400, title: 'Invalid query parameter' },
  'empty-body': { status: 400, title: 'Empty body' },
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'malformed-form': { status: 400, title: 'Malformed form' },
  'incomplete-body': { status: 400, title: 'Incomplete body' },
  'invalid-handshake': { status: 400, title: 'Invalid webhook handshake' },
  'admin-token-required': { status: 401, title: 'Admin token required' },
  'unauthorized-source': { status: 401, title: 'Not authenticated' },
  'token-not-accepted': { status: 401, title: 'Token not accepted' },
  'run-token-not-accepted': { status: 401, title: 'Run token not accepted' },
  'outside-run-token': { status: 403, title: "Not the run token's run" },
  'chain-not-startable': { status: 403, title: 'Chain not startable from workflows' },
  'repository-not-allowed': { status: 403, title: 'Repository may not start this chain' },
  'admin-loopback-only': { status: 403, title: 'Forbidden' },
  'cross-site-request': { status: 403, title: 'Cross-site request refused' },
  'untrusted-host': { status: 403, title: 'Host not served' },
  'not-found': { status: 404, title: 'Not found' },
  'unknown-source': { status: 404, title: 'Unknown source' },
  'source-disabled': { status: 404, title: 'Source not enabled' },
  'run-not-found': { status: 404, title: 'Run not found' },
  'event-not-found': { status: 404, title: 'Event not found' },
  'chain-not-found': { status: 404, title: 'Chain not found' },
  'unknown-callback-token': { status: 404, title: 'Unknown callback token' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'step-ended': { status: 409, title: 'Step already ended' },
  'run-not-retryable': { status: 409, title: 'Run cannot be retried' },
  'run-not-cancellable': { status: 409, title: 'Run cannot be cancelled' },
  'approval-not-waiting': { status: 409, title: 'Approval not waiting' },
  'step-not-found': { status: 404, title: 'Step not found' },
  'event-has-no-push': { status: 409, title: 'Nothing to redeliver' },
  'no-chain-matches': { status: 409, title: 'No chain matches' },
  'body-too-large': { status: 413, title: 'Body too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'unsupported-encoding': { status: 415, title: 'Unsupported Content-Encoding' },
  'unsupported-charset': { status: 415, title: 'Unsupported charset' },
  'invalid-callback': { status: 422, title: 'Invalid callback' },
  'invalid-payload': { status: 422, title: 'Not a push payload' },
  'invalid-decision': { status: 422, title: 'Invalid decision' },
  'invalid-start': { status: 422, title: 'Invalid start request' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
  'database-unavailable': { status: 503, title: 'Database unavailable' },
  'identity-unavailable': { status: 503, title: 'Token issuer unavailable' },
  'relay-busy': { status: 503, title: 'Relay busy' },
} as const satisfies Record<string, { status: number; title: string }>

export type ProblemType = keyof typeof PROBLEM_TYPES

/** Every problem type the relay may answer with, for its API description. */
export const PROBLEM_TYPE_NAMES = Object.keys(PROBLEM_TYPES) as ProblemType[]

export interface ProblemOptions {
  /** Extra members of the body, such as `errors`. */
  extensions?: Record<string, unknown>
  headers?: Record<string, string>
  /** Only where one type covers several statuses (`bad-request`, `malformed-request`). */
  status?: number
}

/**
 * An error that the client can act on, sent as RFC 9457 problem+json. `detail` says what to fix.
 */
export class Problem extends Error {
  override name = 'Problem'
  readonly status: number
  readonly title: string
  readonly extensions: Record<string, unknown>
  readonly headers: Record<string, string>

  constructor(
    readonly slug: ProblemType,
    readonly detail: string,
    options: ProblemOptions = {},
  ) {
    super(detail)
    const known = PROBLEM_TYPES[slug]
    this.status = options.status ?? known.status
    this.title = options.status ? (STATUS_CODES[options.status] ?? known.title) : known.title
    this.extensions = options.extensions ?? {}
    this.headers = options.headers ?? {}
  }
}

export function problem(type: ProblemType, detail: string, options?: ProblemOptions): Problem {
  return new Problem(type, detail, options)
}

/** The problem+json body, as the relay sends it (and as a raw socket answer writes it). */
export function problemBody(p: Problem, instance?: string): string {
  return JSON.stringify({
    type: `urn:hookchain:problem:${p.slug}`,
    title: p.title,
    status: p.status,
    detail: p.detail,
    ...(instance ? { instance } : {}),
    ...p.extensions,
  })
}

export function sendProblem(res: Response, p: Problem, instance?: string): void {
  res
    .status(p.status)
    .set(p.headers)
    .type('application/problem+json')
    .send(problemBody(p, instance))
}

export function bodyTooLarge(limit: number): Problem {
  return problem(
    'body-too-large',
    `The body is larger than ${limit} bytes; send at most ${limit / (1024 * 1024)} MB.`,
    // What is left of the body is not read: the connection closes once the answer is sent.
    { headers: { Connection: 'close' } },
  )
}

/** The database failed; the client may try again in a few seconds. */
export function databaseUnavailable(detail: string): Problem {
  return problem('database-unavailable', detail, { headers: { 'Retry-After': '5' } })
}

/** Seconds a sender turned away by the relay's bounds (connections, unread bodies) is asked to wait. */
export const BUSY_RETRY_AFTER_S = 5

/** The relay is at one of its bounds; the sender may try again in a moment. */
export function relayBusy(detail: string): Problem {
  return problem('relay-busy', detail, {
    headers: { 'Retry-After': String(BUSY_RETRY_AFTER_S), Connection: 'close' },
  })
}

/** Errors thrown by body-parser carry a `type`; each becomes the problem a client can fix. */
function fromBodyParser(error: { type?: string; status?: number; limit?: number }): Problem | null {
  switch (error.type) {
    case 'entity.too.large':
      return bodyTooLarge(error.limit ?? 1024 * 1024)
    case 'encoding.unsupported':
      return problem(
        'unsupported-encoding',
        'Send the body uncompressed or with Content-Encoding gzip, deflate or br.',
      )
    case 'charset.unsupported':
      return problem('unsupported-charset', 'Send the body as UTF-8.')
    case 'request.aborted':
    case 'request.size.invalid':
      return problem('incomplete-body', 'The body ended before its Content-Length; send it again.')
    default:
      return null
  }
}

/**
 * SQLite's busy, locked, read-only, I/O and full-disk errors, and PostgreSQL's connection and
 * resource errors: the request was fine, the relay could not keep it, and a retry may succeed.
 */
function isDatabaseError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code
  if (typeof code !== 'string') return false
  return (
    /^SQLITE_(BUSY|LOCKED|READONLY|IOERR|FULL|CANTOPEN|PROTOCOL)/.test(code) ||
    /^(08|53|57P)/.test(code) ||
    code === 'ECONNREFUSED'
  )
}

/** The path segments that hold a secret: a path-secret source's, and a callback token. */
const SECRET_SEGMENT = new RegExp(
  `/(callbacks|hooks/(?:${SOURCES.filter((source) => source.pathSecret)
    .map((source) => source.name)
    .join('|')}))/[^/?]+`,
)

/**
 * A request path fit for logs and answers: the secret segment of `/hooks/<source>/<secret>` (for
 * the sources that take one) and of `/callbacks/<token>` replaced by `…` (or the given stand-in).
 */
export function withoutSecret(path: string, standIn = '…'): string {
  return path.replace(SECRET_SEGMENT, `/$1/${standIn}`)
}

/** The problem a refusal stands for: a `Problem` itself, or the run service's `RunRefused`. */
export function refusalProblem(error: unknown): Problem | null {
  if (error instanceof Problem) return error
  if (error instanceof RunRefused) return problem(error.reason, error.message)
  return null
}

/** The problem an error thrown by a route stands for; logs what the client cannot act on. */
function asProblem(error: unknown, req: Request, logger: Logger): Problem {
  const refused = refusalProblem(error)
  if (refused) return refused
  const parsed = fromBodyParser(error as { type?: string; limit?: number })
  if (parsed) return parsed
  const status = (error as { status?: unknown } | null)?.status
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return problem('bad-request', String((error as Error).message), { status })
  }
  const path = withoutSecret(req.path)
  if (isDatabaseError(error)) {
    logger.error({ err: error, path }, 'database unavailable: %s', (error as Error).message)
    return databaseUnavailable(
      'The relay could not write to its database, so nothing of this request was kept. Send it again later.',
    )
  }
  logger.error({ err: error, path }, 'unexpected error: %s', (error as Error | null)?.message)
  return problem(
    'internal',
    'The relay could not handle this request; it is logged. Try again later.',
  )
}

export function problemHandler(logger: Logger, metrics?: Metrics): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const found = asProblem(error, req, logger)
    if (res.headersSent) return
    metrics?.problems.inc({ status: String(found.status), type: found.slug })
    // Refused before its body was read (no credentials, a flood): that body is not drained.
    if (!req.complete) res.setHeader('Connection', 'close')
    // A URI reference, as RFC 9457 wants: the secret's stand-in "…" percent-encoded.
    sendProblem(res, found, withoutSecret(req.originalUrl, '%E2%80%A6'))
  }
}
