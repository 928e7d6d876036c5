import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { parseBody, readBody, startLoopbackServer, waitUntil } from './loopback-server.js'

/** How the receiver answers a request. */
export type Reply =
  | {
      status: number
      headers?: Record<string, string>
      /** A string is sent as is; anything else as JSON. */
      body?: unknown
    }
  /** Never answers (until the receiver closes). */
  | { hang: true }
  /** Answers `status`, then streams a body that never ends, for as long as the client reads. */
  | { status: number; headers?: Record<string, string>; endlessBody: true }
  /** Answers `status` with the request's own body, as a careless server's error page does. */
  | { status: number; echo: true }

export interface ReceivedRequest {
  method: string
  /** Path and query. */
  path: string
  headers: IncomingHttpHeaders
  /** The bytes received, e.g. to verify a signature. */
  rawBody: Buffer
  /** Parsed JSON, or the text when it is not JSON; undefined when empty. */
  body: unknown
  receivedAt: Date
}

export interface HttpReceiver {
  /** `http://127.0.0.1:<port>`. */
  url: string
  requests: ReceivedRequest[]
  /** The answer to requests without a queued one. Default: 200 `{"ok":true}`. */
  setReply(reply: Reply): void
  /** The next `times` requests get this answer. */
  replyNext(times: number, reply: Reply): void
  /** Resolves with the requests once there are at least `count`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>
  /** Body bytes written so far by endless answers. */
  streamedBytes(): number
  close(): Promise<void>
}

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as told: a webhook
 * receiver, a registry taking callbacks, a relay's callback endpoint…
 */
export async function startHttpReceiver(options: { reply?: Reply } = {}): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = []
  const queued: { remaining: number; reply: Reply }[] = []
  const listeners = new Set<() => void>()
  let reply: Reply = options.reply ?? { status: 200, body: { ok: true } }
  let streamed = 0

  const server = await startLoopbackServer(async (request, response) => {
    const rawBody = await readBody(request)
    requests.push({
      method: request.method ?? 'GET',
      path: request.url ?? '/',
      headers: request.headers,
      rawBody,
      body: parseBody(rawBody),
      receivedAt: new Date(),
    })
    for (const listener of listeners) listener()
    const next = queued.find((q) => q.remaining > 0)
    if (next) next.remaining -= 1
    const answer = next?.reply ?? reply
    if ('hang' in answer) return
    if ('echo' in answer) {
      response.writeHead(answer.status, { 'content-type': 'text/plain' })
      response.end(`could not handle ${rawBody.toString('utf8')}`)
      return
    }
    if ('endlessBody' in answer) {
      response.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers })
      await streamForever(response, (bytes) => {
        streamed += bytes
      })
      return
    }
    const text =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body)
    const type = typeof answer.body === 'string' ? 'text/plain' : 'application/json'
    response.writeHead(answer.status, {
      ...(text ? { 'content-type': type } : {}),
      ...answer.headers,
    })
    response.end(text)
  })

  return {
    url: server.url,
    requests,
    setReply(next) {
      reply = next
    },
    replyNext(times, next) {
      queued.push({ remaining: times, reply: next })
    },
    waitForRequests(count, timeoutMs = 5000) {
      return waitUntil(
        () => (requests.length >= count ? [...requests] : undefined),
        (changed) => {
          listeners.add(changed)
          return () => listeners.delete(changed)
        },
        timeoutMs,
        () => `the receiver got ${requests.length} of ${count} expected requests`,
      )
    },
    streamedBytes: () => streamed,
    close: () => server.close(),
  }
}

async function streamForever(
  response: ServerResponse,
  wrote: (bytes: number) => void,
): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 'x')
  while (!response.destroyed && !response.writableEnded) {
    const ok = response.write(chunk)
    wrote(chunk.length)
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done)
          response.off('close', done)
          resolve()
        }
        response.on('drain', done)
        response.on('close', done)
      })
    }
  }
}
