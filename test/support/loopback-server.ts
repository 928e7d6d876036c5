import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string
  port: number
  /** Closes the server and every connection, including requests left hanging on purpose. */
  close(): Promise<void>
}

/** Starts a real HTTP server on 127.0.0.1, on a free port or on `port` (to start one again). */
export async function startLoopbackServer(
  handle: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>,
  options: { port?: number } = {},
): Promise<LoopbackServer> {
  const sockets = new Set<Socket>()
  const server = createServer((request, response) => {
    Promise.resolve(handle(request, response)).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' })
      response.end(`test server failed: ${error instanceof Error ? error.stack : String(error)}`)
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  let closing: Promise<void> | null = null
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      return closing
    },
  }
}

/** Reads a request body whole. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Parses JSON when the body is JSON; otherwise keeps the text (empty body: undefined). */
export function parseBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined
  const text = raw.toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Resolves once `ready()` holds, checking whenever `changed` fires; rejects after `timeoutMs`. */
export function waitUntil<T>(
  ready: () => T | undefined,
  subscribe: (changed: () => void) => () => void,
  timeoutMs: number,
  describe: () => string,
): Promise<T> {
  const now = ready()
  if (now !== undefined) return Promise.resolve(now)
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe()
      reject(new Error(`${describe()} after ${timeoutMs} ms`))
    }, timeoutMs)
    const unsubscribe = subscribe(() => {
      const value = ready()
      if (value === undefined) return
      clearTimeout(timer)
      unsubscribe()
      resolve(value)
    })
  })
}
