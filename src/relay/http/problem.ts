import type { ErrorRequestHandler, Response } from 'express'
import type { Logger } from 'pino'
import type { Metrics } from '../metrics.js'

/**
 * An error that the client can act on, sent as RFC 9457 problem+json. `detail` says what to fix;
 * extra members (such as `errors`) are added to the body as extensions.
 */
export class Problem extends Error {
  override name = 'Problem'
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
  }
}

export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  res
    .status(problem.status)
    .set(problem.headers)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `urn:hookchain:problem:${problem.slug}`,
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        ...(instance ? { instance } : {}),
        ...problem.extensions,
      }),
    )
}

export function bodyTooLarge(limit: number): Problem {
  return new Problem(
    413,
    'body-too-large',
    'Body too large',
    `The body is larger than ${limit} bytes; send at most ${limit / (1024 * 1024)} MB.`,
    {},
    // What is left of the body is not read: the connection closes once the answer is sent.
    { Connection: 'close' },
  )
}

/** The database failed; the client may try again in a few seconds. */
export function databaseUnavailable(detail: string): Problem {
  return new Problem(
    503,
    'database-unavailable',
    'Database unavailable',
    detail,
    {},
    {
      'Retry-After': '5',
    },
  )
}

/** Errors thrown by body-parser carry a `type`; each becomes the problem a client can fix. */
function fromBodyParser(error: { type?: string; status?: number; limit?: number }): Problem | null {
  switch (error.type) {
    case 'entity.too.large':
      return bodyTooLarge(error.limit ?? 1024 * 1024)
    case 'encoding.unsupported':
      return new Problem(
        415,
        'unsupported-encoding',
        'Unsupported Content-Encoding',
        'Send the body uncompressed or with Content-Encoding gzip, deflate or br.',
      )
    case 'charset.unsupported':
      return new Problem(
        415,
        'unsupported-charset',
        'Unsupported charset',
        'Send the body as UTF-8.',
      )
    case 'request.aborted':
    case 'request.size.invalid':
      return new Problem(
        400,
        'incomplete-body',
        'Incomplete body',
        'The body ended before its Content-Length; send it again.',
      )
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

const SECRET_SEGMENT = /\/(callbacks|hooks\/(?:dockerhub|quay))\/[^/?]+/

/**
 * A request path fit for logs and answers: the secret segment of `/hooks/dockerhub/<secret>`,
 * `/hooks/quay/<secret>` and `/callbacks/<token>` replaced by `…` (or the given stand-in).
 */
export function withoutSecret(path: string, standIn = '…'): string {
  return path.replace(SECRET_SEGMENT, `/$1/${standIn}`)
}

export function problemHandler(logger: Logger, metrics?: Metrics): ErrorRequestHandler {
  return (error, req, res, _next) => {
    let problem = error instanceof Problem ? error : fromBodyParser(error)
    if (!problem && error?.status >= 400 && error?.status < 500) {
      problem = new Problem(error.status, 'bad-request', 'Bad request', String(error.message))
    }
    if (!problem && isDatabaseError(error)) {
      logger.error(
        { err: error, path: withoutSecret(req.path) },
        'database unavailable: %s',
        error?.message,
      )
      problem = databaseUnavailable(
        'The relay could not write to its database, so nothing of this request was kept. Send it again later.',
      )
    }
    if (!problem) {
      logger.error(
        { err: error, path: withoutSecret(req.path) },
        'unexpected error: %s',
        error?.message,
      )
      problem = new Problem(
        500,
        'internal',
        'Internal error',
        'The relay could not handle this request; it is logged. Try again later.',
      )
    }
    if (res.headersSent) return
    metrics?.problems.inc({ status: String(problem.status), type: problem.slug })
    sendProblem(
      res,
      problem,
      // A URI reference, as RFC 9457 wants: the secret's stand-in "…" percent-encoded.
      withoutSecret(req.originalUrl, '%E2%80%A6'),
    )
  }
}
