import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import { BUSY_RETRY_AFTER_S, problemBody, relayBusy } from './problem.js'

/** What the relay takes from clients before it knows who they are. */
export interface IntakeLimits {
  /** Open connections at once, in total and from one address; past them a connection is answered 503. */
  maxConnections: number
  maxConnectionsPerClient: number
  /** Bytes of bodies read before their signature is checked, in total and for one address. */
  unauthenticatedBytes: number
  unauthenticatedBytesPerClient: number
  /** A request's headers must have come within this (a connection that sends nothing too). */
  headersTimeoutMs: number
  /** A request, body included, must have come within this. */
  requestTimeoutMs: number
}

// Webhooks are small and sent at once; a registry that is still sending after 30 s has failed.
// Behind a reverse proxy every client has the proxy's address: the per-client bounds then apply
// to all together, which is why they are a quarter of the total and not less.
export const DEFAULT_LIMITS: IntakeLimits = {
  maxConnections: 2048,
  maxConnectionsPerClient: 512,
  unauthenticatedBytes: 32 * 1024 * 1024,
  unauthenticatedBytesPerClient: 8 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
}

/**
 * Sets the read timeouts and bounds the connections: one past a bound is answered 503 with
 * `Retry-After` at once and closed. `admitted` wraps the request handler so that nothing a refused
 * connection still sends is handled.
 */
export function limitConnections(
  server: Server,
  limits: IntakeLimits,
): { admitted(handler: RequestListener): RequestListener } {
  server.headersTimeout = limits.headersTimeoutMs
  server.requestTimeout = limits.requestTimeoutMs
  const refused = new WeakSet<Socket>()
  const byClient = new Map<string, number>()
  let open = 0
  server.prependListener('connection', (socket: Socket) => {
    const client = socket.remoteAddress ?? ''
    const own = byClient.get(client) ?? 0
    if (open >= limits.maxConnections || own >= limits.maxConnectionsPerClient) {
      refused.add(socket)
      refuse(socket, open >= limits.maxConnections)
      return
    }
    open++
    byClient.set(client, own + 1)
    socket.once('close', () => {
      open--
      const left = (byClient.get(client) ?? 1) - 1
      if (left > 0) byClient.set(client, left)
      else byClient.delete(client)
    })
  })
  return {
    admitted: (handler) => (req: IncomingMessage, res: ServerResponse) => {
      // Answered already: what it sends is read and dropped until the connection is closed.
      if (refused.has(req.socket)) req.resume()
      else handler(req, res)
    },
  }
}

const LINGER_MS = 2000

function refuse(socket: Socket, everyone: boolean): void {
  const body = problemBody(
    relayBusy(
      `The relay has as many connections open ${everyone ? 'as it takes' : 'from your address as it takes from one'}; close some, or try again in ${BUSY_RETRY_AFTER_S} s.`,
    ),
  )
  socket.on('error', () => {})
  socket.end(
    `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: ${BUSY_RETRY_AFTER_S}\r\nConnection: close\r\n\r\n${body}`,
  )
  // Closed a moment later rather than at once: a client still sending would get a reset, which
  // may drop the answer before it is read.
  setTimeout(() => socket.destroy(), LINGER_MS).unref()
}
