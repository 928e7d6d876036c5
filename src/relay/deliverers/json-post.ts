import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { getErrorMessage } from '../../shared/errors.js'
import { RefusedAddressError } from './outbound-address.js'

export interface PostOptions {
  headers: Record<string, string>
  /** For the whole exchange: connecting, sending, the answer's head and the part of its body read. */
  timeoutMs: number
  /** Body bytes kept; the rest is not read. */
  maxResponseBytes: number
  /** Resolves the host (and may refuse its addresses); default: the system resolver. */
  lookup?: LookupFunction
}

export interface PostAnswer {
  status: number
  headers: IncomingHttpHeaders
  /** At most `maxResponseBytes`. */
  body: Buffer
  /** More body came than was read. */
  truncated: boolean
}

/** Why no answer came: the receiver was too slow, unreachable, or its address was refused. */
export class PostError extends Error {
  override name = 'PostError'
  constructor(
    message: string,
    readonly reason: 'timeout' | 'network' | 'refused',
  ) {
    super(message)
  }
}

/**
 * POSTs a body once: no redirects followed, no pooled connection (each request resolves and
 * checks its address anew), a deadline over the whole exchange, and a bounded read of the answer.
 */
export function postJson(url: URL, body: string, options: PostOptions): Promise<PostAnswer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  const payload = Buffer.from(body)
  return new Promise<PostAnswer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let answer: PostAnswer | null = null
    const request = send(url, {
      method: 'POST',
      agent: false,
      headers: {
        'content-type': 'application/json',
        'content-length': String(payload.length),
        ...options.headers,
      },
      ...(options.lookup ? { lookup: options.lookup } : {}),
    })
    /** Settles with the answer's head and the body read so far, and stops reading. */
    const keep = (truncated: boolean) => {
      clearTimeout(deadline)
      if (!answer) return
      answer.body = Buffer.concat(chunks)
      answer.truncated ||= truncated
      resolve(answer)
      request.destroy()
    }
    const deadline = setTimeout(() => {
      // When the head came in time, the status is what counts: keep it, drop the slow rest.
      if (answer) return keep(true)
      request.destroy(new PostError(`no answer within ${options.timeoutMs} ms`, 'timeout'))
    }, options.timeoutMs)

    request.on('error', (error) => {
      clearTimeout(deadline)
      if (error instanceof PostError) return reject(error)
      if (error instanceof RefusedAddressError)
        return reject(new PostError(error.message, 'refused'))
      reject(new PostError(getErrorMessage(error), 'network'))
    })
    request.on('response', (response) => {
      answer = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        body: Buffer.alloc(0),
        truncated: false,
      }
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk.subarray(0, Math.max(0, options.maxResponseBytes - size)))
        size += chunk.length
        if (size > options.maxResponseBytes) keep(true)
      })
      response.on('end', () => keep(false))
      response.on('error', () => keep(true))
    })
    request.end(payload)
  })
}
