import { connect } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  authFor,
  type FuzzRelay,
  SOURCE_ROUTES,
  type SourceName,
  seed,
  startFuzzRelay,
} from './fuzz-relay.js'
import { storedStateProblems } from './stored-state.js'

// Requests shaped like a flood: bodies declared and not sent, `Expect: 100-continue`, credentials
// missing or wrong. What the relay may read before it knows who sends a request is bounded.

let fuzz: FuzzRelay
let port: number

beforeAll(async () => {
  fuzz = await startFuzzRelay()
  await seed(fuzz.relay)
  port = Number(new URL(fuzz.relay.url).port)
})
afterAll(async () => {
  await fuzz?.close()
})

const SOURCES = Object.keys(SOURCE_ROUTES) as SourceName[]

/** The route of a source with its credentials wrong or left out. */
function unauthenticated(source: SourceName, wrong: boolean): { path: string; headers: string[] } {
  const route = SOURCE_ROUTES[source]
  if (source === 'dockerhub' || source === 'quay') {
    return { path: route.replace(/\/[^/]+$/, `/${wrong ? 'not-the-secret' : ''}`), headers: [] }
  }
  const fake = Object.keys(authFor(source, Buffer.alloc(0)))
  // A wrong bearer token is refused from the headers; a made-up signature needs the body, which
  // these requests never finish sending: only requests without one are answered at once.
  const bearer = fake.includes('authorization')
  return { path: route, headers: wrong && bearer ? ['Authorization: Bearer wrong-token'] : [] }
}

/** Writes `head` and `sent` bytes of body, and reads until the relay closes or `ms` pass. */
function exchange(head: string, sent: Buffer, ms: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    let text = ''
    const timer = setTimeout(() => socket.destroy(), ms)
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1')
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(text)
    })
    socket.write(head)
    if (sent.length) socket.write(sent)
  })
}

describe('requests without credentials, in flood shapes', () => {
  it('are answered at once with a 4xx problem, without 100 Continue, before their body comes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 900 * 1024 }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        async (source, wrong, expectContinue, declared, fraction) => {
          const { path, headers } = unauthenticated(source, wrong)
          const head = [
            `POST ${path} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Content-Type: application/json',
            `Content-Length: ${declared}`,
            ...(expectContinue ? ['Expect: 100-continue'] : []),
            ...headers,
            '',
            '',
          ].join('\r\n')
          const answer = await exchange(
            head,
            Buffer.alloc(Math.floor(declared * fraction), 0x20),
            3000,
          )
          const where = `${source} ${path} ${headers.join(' ')} → ${answer.slice(0, 300)}`
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
          expect([401, 404], where).toContain(status)
          expect(answer, where).not.toContain('100 Continue')
          expect(answer, where).toMatch(/^Connection: close\r$/im)
          expect(answer, where).toContain('application/problem+json')
        },
      ),
      { numRuns: 150 },
    )
  })

  it('with credentials and Expect: 100-continue, get 100 Continue and then their answer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES),
        fc.jsonValue({ maxDepth: 3 }),
        async (source, value) => {
          const body = Buffer.from(JSON.stringify(value))
          const auth = Object.entries(authFor(source, body)).map(([k, v]) => `${k}: ${v}`)
          const head = [
            `POST ${SOURCE_ROUTES[source]} HTTP/1.1`,
            'Host: 127.0.0.1',
            'Content-Type: application/json',
            `Content-Length: ${body.length}`,
            'Expect: 100-continue',
            'Connection: close',
            ...auth,
            '',
            '',
          ].join('\r\n')
          const answer = await new Promise<string>((resolve) => {
            const socket = connect({ host: '127.0.0.1', port })
            let text = ''
            let sent = false
            socket.on('data', (chunk) => {
              text += chunk.toString('latin1')
              if (text.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !sent) {
                sent = true
                socket.write(body)
              }
            })
            socket.on('error', () => {})
            socket.on('close', () => resolve(text))
            socket.write(head)
          })
          const where = `${source} ${JSON.stringify(value).slice(0, 100)} → ${answer.slice(0, 300)}`
          expect(answer.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 '), where).toBe(true)
          const status = Number(/\r\n\r\nHTTP\/1\.1 (\d{3})/.exec(answer)?.[1])
          expect([202, 400, 415, 422], where).toContain(status)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('leave the relay serving and the stored state consistent', async () => {
    expect((await fetch(`${fuzz.relay.url}/healthz`)).status).toBe(200)
    expect(storedStateProblems(fuzz.relay.databaseFile, { settled: false })).toEqual([])
  })
})
