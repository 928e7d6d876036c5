import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * One scripted answer; `hang` never answers and `stall` stops halfway, to test timeouts, and
 * `reset` drops the connection without a word, to test network errors.
 */
export interface ScriptedAnswer {
  status?: number
  headers?: Record<string, string>
  body?: unknown
  hang?: boolean
  stall?: boolean
  reset?: boolean
}

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
}

export interface CallbackReceiver {
  /** `http://127.0.0.1:<port>/callbacks/<token>` */
  callbackUrl: string
  token: string
  requests: ReceivedRequest[]
  close(): Promise<void>
}

export const RUN_RUNNING = {
  run: { id: 'run-1', chain: 'release', state: 'running' },
  step: { index: 1, state: 'success' },
}

/**
 * A stand-in for the relay's `POST /callbacks/<token>`, on 127.0.0.1: it records every request
 * and gives the scripted answers in turn, the last one again once they run out.
 */
export async function startCallbackReceiver(
  answers: ScriptedAnswer[] = [{ status: 200, body: RUN_RUNNING }],
): Promise<CallbackReceiver> {
  const token = 'tok_9f86d081884c7d659a2feaa0c55ad015'
  const requests: ReceivedRequest[] = []
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      const answer = answers[Math.min(requests.length, answers.length) - 1] ?? {}
      if (answer.hang) return
      if (answer.reset) {
        request.socket.destroy()
        return
      }
      const body =
        answer.body === undefined
          ? ''
          : typeof answer.body === 'string'
            ? answer.body
            : JSON.stringify(answer.body)
      const contentType =
        typeof answer.body === 'object'
          ? { 'content-type': 'application/json' }
          : { 'content-type': 'text/plain' }
      response.writeHead(answer.status ?? 200, { ...contentType, ...answer.headers })
      if (answer.stall) response.write(body.slice(0, body.length >> 1))
      else response.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    callbackUrl: `http://127.0.0.1:${port}/callbacks/${token}`,
    token,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
