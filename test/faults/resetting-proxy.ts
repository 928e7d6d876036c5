import { connect, createServer, type Socket } from 'node:net'

export interface ResettingProxy {
  /** `http://127.0.0.1:<port>`, to use in place of the target's URL. */
  url: string
  close(): Promise<void>
}

/**
 * A TCP proxy on 127.0.0.1 in front of `target` that resets (RST) the first `resets` connections
 * as soon as they send, as a crashing server or a middlebox would, and passes the rest through.
 */
export async function startResettingProxy(target: string, resets: number): Promise<ResettingProxy> {
  const { hostname, port } = new URL(target)
  let left = resets
  const sockets = new Set<Socket>()
  const track = (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  }
  const server = createServer((socket) => {
    track(socket)
    if (left > 0) {
      left -= 1
      socket.once('data', () => socket.resetAndDestroy())
      return
    }
    const upstream = connect(Number(port), hostname)
    track(upstream)
    socket.on('error', () => upstream.destroy())
    upstream.on('error', () => socket.destroy())
    socket.pipe(upstream).pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port: own } = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${own}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
