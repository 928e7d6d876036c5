// A flood, in a process of its own so that the bench measures the relay and not its own loop:
// `node --import tsx bench/support/flood-client.ts <port> <connections> <seconds>` keeps that many
// connections from 127.0.0.1 sending 1 MiB GitHub hooks with a made-up signature, one after the
// other, and prints how they were answered as JSON.
import { connect } from 'node:net'

const [port, connections, seconds] = process.argv.slice(2).map(Number) as [number, number, number]
const BODY = Buffer.alloc(1024 * 1024 - 1024, 'a')
const HEAD = `POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: registry_package\r\nX-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n`
const answers: Record<string, number> = {}
const until = Date.now() + seconds * 1000

function once(): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let head = ''
    socket.on('data', (chunk) => {
      if (head.length < 16) head += chunk.toString('latin1')
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 'reset'))
    socket.on('connect', () => {
      socket.write(HEAD)
      socket.write(BODY)
    })
  })
}

async function flooder(): Promise<void> {
  while (Date.now() < until) {
    const status = await once()
    answers[status] = (answers[status] ?? 0) + 1
  }
}

await Promise.all(Array.from({ length: connections }, flooder))
process.stdout.write(JSON.stringify(answers))
