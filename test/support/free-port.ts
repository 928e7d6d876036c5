import { createServer } from 'node:net'

/**
 * A port free on 127.0.0.1 right now, for a process that must know its address before it starts
 * (the registry's config names it; the relay's public_url must be its own address; PostgreSQL
 * takes it on its command line).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('the system gave no port on 127.0.0.1')),
      )
    })
  })
}
