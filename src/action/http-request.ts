import type { request as httpRequest } from 'node:http'
import { getErrorMessage } from '../shared/errors.js'
import type { HttpAnswer } from './relay-answer.js'

const DEFAULT_MAX_BODY_BYTES = 64 * 1024

/** No HTTP answer at all: the connection failed, or the relay did not answer in time. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError'
}

export interface RequestOptions {
  method: 'GET' | 'POST'
  headers: Record<string, string>
  /** Sent as it is, with its content-length; none for a GET. */
  body?: string
  /** For the whole exchange, from the connection to the end of the answer. */
  timeoutMs: number
  /** How much of the answer's body to keep; the rest is read and dropped. Default 64 kB. */
  maxBodyBytes?: number
}

/**
 * Sends one request and reads the whole answer within `timeoutMs`. Redirects are handed back
 * as they are, never followed: a callback must reach the URL the relay handed out.
 *
 * Node's http module rather than its global fetch: fetch's first call loads undici and compiles
 * its WebAssembly HTTP parser, which (with the wait for that compilation at exit) adds about
 * 75 ms to every run of the Action, more than the rest of the run takes.
 */
export async function sendRequest(url: URL, options: RequestOptions): Promise<HttpAnswer> {
  const { body, timeoutMs, maxBodyBytes = DEFAULT_MAX_BODY_BYTES } = options
  // TLS is loaded only for an https relay.
  const { request }: { request: typeof httpRequest } =
    url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return new Promise((resolve, reject) => {
    let timedOut = false
    // A timer rather than an AbortSignal: the signal's support in streams costs a few ms to load.
    const timer = setTimeout(() => {
      timedOut = true
      outgoing.destroy(new Error('timed out'))
    }, timeoutMs)
    const fail = (error: unknown) => {
      clearTimeout(timer)
      reject(
        new NoAnswerError(
          timedOut ? `no answer within ${formatSeconds(timeoutMs)}` : describeNetworkError(error),
        ),
      )
    }
    const outgoing = request(
      url,
      {
        method: options.method,
        // A fresh connection per attempt: a retry never reuses a socket the relay gave up on.
        agent: false,
        headers: options.headers,
      },
      (response) => {
        const chunks: Buffer[] = []
        let received = 0
        response.on('data', (chunk: Buffer) => {
          // Keep enough of an unexpected answer to quote it.
          if (received < maxBodyBytes) chunks.push(chunk)
          received += chunk.length
        })
        response.on('error', fail)
        response.on('close', () => {
          if (!response.complete) fail(new Error('the connection closed during the answer'))
        })
        response.on('end', () => {
          clearTimeout(timer)
          resolve({
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? '',
            header: (name) => {
              const value = response.headers[name.toLowerCase()]
              return Array.isArray(value) ? value.join(', ') : (value ?? null)
            },
            body: Buffer.concat(chunks).toString('utf8'),
          })
        })
      },
    )
    outgoing.on('error', fail)
    outgoing.end(body)
  })
}

/** POSTs a JSON body; see `sendRequest`. */
export function postJson(
  url: URL,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<HttpAnswer> {
  return sendRequest(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    },
    body,
    timeoutMs,
  })
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`
}

function describeNetworkError(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : null
  const message = getErrorMessage(error)
  return code && !message.includes(code) ? `${message} (${code})` : message
}
