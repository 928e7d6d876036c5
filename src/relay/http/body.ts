import type { IncomingMessage, ServerResponse } from 'node:http'
import express, { type Request } from 'express'
import type { ByteBudget } from './byte-budget.js'
import { BUSY_RETRY_AFTER_S, bodyTooLarge, type Problem, problem, relayBusy } from './problem.js'

export const BODY_LIMIT_BYTES = 1024 * 1024

const parseRaw = express.raw({ type: () => true, limit: BODY_LIMIT_BYTES })

/**
 * Keeps the exact bytes (signatures are checked on them); gzip and deflate are inflated within the
 * limit. A body over the limit is answered 413 as soon as that is known (from its Content-Length,
 * or once that many bytes came) and the connection is closed: body-parser would first read all the
 * rest of it, however much that is. `Expect: 100-continue` is answered only here, so a request
 * refused before its body is needed never sends it.
 */
export function rawBody(
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
): void {
  if (Number(req.headers['content-length']) > BODY_LIMIT_BYTES) {
    next(bodyTooLarge(BODY_LIMIT_BYTES))
    return
  }
  if (/^100-continue$/i.test(req.headers.expect ?? '')) res.writeContinue()
  let received = 0
  let refused = false
  const count = (chunk: Buffer) => {
    received += chunk.length
    if (received <= BODY_LIMIT_BYTES || refused) return
    refused = true
    req.off('data', count)
    next(bodyTooLarge(BODY_LIMIT_BYTES))
  }
  req.on('data', count)
  parseRaw(req, res, (error?: unknown) => {
    req.off('data', count)
    if (!refused) next(error)
  })
}

/**
 * `rawBody` for a request not yet authenticated: the bytes it may bring (its Content-Length, or
 * the limit when it has none or is compressed) are held from `budget` until it is answered, and a
 * request that finds no room is answered 503 with `Retry-After`, its body unread.
 */
export function budgetedBody(budget: ByteBudget) {
  return (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void => {
    const length = Number(req.headers['content-length'])
    const known = req.headers['content-length'] !== undefined && Number.isSafeInteger(length)
    const bytes =
      known && !req.headers['content-encoding']
        ? Math.min(length, BODY_LIMIT_BYTES)
        : BODY_LIMIT_BYTES
    const client = req.socket.remoteAddress ?? ''
    if (!budget.reserve(client, bytes)) {
      next(
        relayBusy(
          `The relay is reading as many unauthenticated deliveries as it will at once; send this one again in ${BUSY_RETRY_AFTER_S} s.`,
        ),
      )
      return
    }
    res.once('close', () => budget.release(client, bytes))
    rawBody(req, res, next)
  }
}

export function bodyBytes(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0)
}

/** The media type without parameters, lower-cased; null when absent. */
export function mediaType(req: Request): string | null {
  const header = req.headers['content-type']
  if (!header) return null
  return header.split(';')[0]?.trim().toLowerCase() || null
}

export function requireMediaType(req: Request, accepted: readonly string[]): string {
  const type = mediaType(req)
  if (type && accepted.includes(type)) return type
  throw problem(
    'unsupported-media-type',
    `${type ? `Content-Type ${type} is not accepted here` : 'The request has no Content-Type'}; send ${accepted.join(' or ')}.`,
    { extensions: { accepted } },
  )
}

export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw problem('empty-body', 'The body is empty; send a JSON document.')
  const text = raw.toString('utf8').replace(/^\uFEFF/, '')
  try {
    return JSON.parse(text)
  } catch (error) {
    throw malformedJson('The body', error)
  }
}

export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded'

/** The JSON document a form carries: its text, which the history keeps, and its value. */
export interface FormJson {
  text: string
  value: unknown
}

/** Reads the JSON document that the one `field` of a form body holds, as in `payload=<json>`. */
export function jsonInForm(raw: Buffer, field: string): FormJson {
  const values = new URLSearchParams(raw.toString('utf8')).getAll(field)
  const text = values[0]
  if (text === undefined || values.length > 1) {
    throw problem(
      'malformed-form',
      text === undefined
        ? `The form has no ${field} field; send the JSON document as ${field}=<URL-encoded JSON>, or send it as application/json.`
        : `The form has ${values.length} ${field} fields; send the JSON document in one.`,
    )
  }
  try {
    return { text, value: JSON.parse(text) }
  } catch (error) {
    throw malformedJson(`The ${field} field of the form`, error)
  }
}

function malformedJson(what: string, error: unknown): Problem {
  return problem('malformed-json', `${what} is not valid JSON: ${(error as Error).message}.`)
}
