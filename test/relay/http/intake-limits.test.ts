import { createHmac } from 'node:crypto'
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { fixture, SECRETS, startTestRelay, type TestRelay, testSettings } from '../relay-harness.js'

// Floods from one address, with the relay's bounds made small: what it holds before it knows who
// sends a request, and what a registry sending from elsewhere still gets.

const MiB = 1024 * 1024

/** What came back on a raw connection: everything read, and whether the server closed it. */
interface Exchange {
  socket: Socket
  /** Resolves with all that was read once the server has closed the connection. */
  closed: Promise<string>
  /** Resolves once `text` has been read. */
  read(text: string): Promise<string>
}

function open(port: number, localAddress = '127.0.0.1'): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    let received = ''
    const waiters: { text: string; done: (all: string) => void }[] = []
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1')
      for (const waiter of waiters.splice(0)) {
        if (received.includes(waiter.text)) waiter.done(received)
        else waiters.push(waiter)
      }
    })
    socket.on('error', () => {})
    const closed = new Promise<string>((done) => socket.on('close', () => done(received)))
    socket.once('connect', () =>
      resolve({
        socket,
        closed,
        read: (text) =>
          received.includes(text)
            ? Promise.resolve(received)
            : new Promise((done) => waiters.push({ text, done })),
      }),
    )
    socket.once('error', reject)
  })
}

function head(path: string, headers: Record<string, string | number>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`)
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('\r\n')}\r\n\r\n`
}

/** What the relay answered and closed within a second, or `still held` while it reads on. */
function answerWithinASecond(exchange: Exchange): Promise<string> {
  return Promise.race([
    exchange.closed,
    new Promise<string>((resolve) => setTimeout(() => resolve('still held'), 1000)),
  ])
}

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/m.exec(answer)?.[1])

function githubPush(): { body: string; headers: Record<string, string> } {
  const body = fixture('github-registry-package-published.json')
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'registry_package',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRETS.github).update(body).digest('hex')}`,
    },
  }
}

/** A plain HTTP request from `localAddress`, as a registry elsewhere would send it. */
function send(
  url: string,
  path: string,
  options: {
    localAddress: string
    method?: string
    body?: string
    headers?: Record<string, string>
  },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        localAddress: options.localAddress,
      },
      (res) => {
        let body = ''
        res.on('data', (chunk) => {
          body += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

let github: GitHubStandIn
beforeAll(async () => {
  github = await startGitHubStandIn()
})
afterAll(async () => {
  await github?.close()
})

const sockets: Socket[] = []
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy()
})
async function held(port: number, localAddress?: string): Promise<Exchange> {
  const exchange = await open(port, localAddress)
  sockets.push(exchange.socket)
  return exchange
}

describe('a request without credentials', () => {
  let t: TestRelay
  let port: number
  beforeAll(async () => {
    t = await startTestRelay(testSettings(github.url))
    port = Number(new URL(t.url).port)
  })
  afterAll(async () => {
    await t?.close()
  })

  it.each([
    ['a hook with a wrong path secret', '/hooks/dockerhub/not-the-secret', 401],
    ['a GitHub hook without a signature', '/hooks/github', 401],
    ['a callback with an unknown token', `/callbacks/${'x'.repeat(43)}`, 404],
    ['a start request without a token', '/api/chains/release/runs', 401],
  ])('is refused before its body is read: %s', async (_what, path, status) => {
    const exchange = await held(port)
    exchange.socket.write(
      head(path, {
        'Content-Type': 'application/json',
        'Content-Length': 512 * 1024,
        Expect: '100-continue',
      }),
    )
    const answer = await exchange.closed
    expect(statusOf(answer)).toBe(status)
    // No "100 Continue": the client never sends the body, and the relay does not wait for it.
    expect(answer).not.toContain('100 Continue')
    expect(answer).toMatch(/^Connection: close/im)
  })

  it('gets "100 Continue" once its path secret is right, and its delivery is taken', async () => {
    const body = fixture('dockerhub-push.json')
    const exchange = await held(port)
    exchange.socket.write(
      head(`/hooks/dockerhub/${SECRETS.dockerhub}`, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
        Expect: '100-continue',
      }),
    )
    await exchange.read('100 Continue')
    exchange.socket.write(body)
    const answer = await exchange.read('"event_id"')
    expect(answer).toMatch(/HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 Accepted/)
  })
})

describe('bodies read before their signature is checked', () => {
  let t: TestRelay
  let port: number
  beforeAll(async () => {
    t = await startTestRelay(testSettings(github.url), {
      limits: { unauthenticatedBytes: 6 * MiB, unauthenticatedBytesPerClient: 2 * MiB },
    })
    port = Number(new URL(t.url).port)
  })
  afterAll(async () => {
    await t?.close()
  })

  /** A signed-looking GitHub hook that declares `length` bytes and sends only a few of them. */
  async function slowHook(length: number, localAddress?: string): Promise<Exchange> {
    const exchange = await held(port, localAddress)
    exchange.socket.write(
      head('/hooks/github', {
        'Content-Type': 'application/json',
        'Content-Length': length,
        'X-GitHub-Event': 'registry_package',
        'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}`,
      }),
    )
    exchange.socket.write('{"a":"')
    return exchange
  }

  it('are bounded per client: a flood gets 503 with Retry-After, a registry elsewhere gets through', async () => {
    const flood = await Promise.all(Array.from({ length: 10 }, () => slowHook(MiB - 1024)))
    const answers = await Promise.all(flood.map(answerWithinASecond))
    // Two bodies of 1 MiB fill this client's 2 MiB; every other is answered at once, unread.
    expect(answers.filter((a) => a === 'still held')).toHaveLength(2)
    const refused = answers.filter((a) => a !== 'still held')
    expect(refused).toHaveLength(8)
    for (const answer of refused) {
      expect(statusOf(answer)).toBe(503)
      expect(answer).toMatch(/^Retry-After: 5\r$/m)
      expect(answer).toContain('urn:hookchain:problem:relay-busy')
    }

    const health = await send(t.url, '/healthz', { localAddress: '127.0.0.1' })
    expect(health.status).toBe(200)
    const push = githubPush()
    const legit = await send(t.url, '/hooks/github', {
      localAddress: '127.0.0.2',
      method: 'POST',
      ...push,
    })
    expect(legit.status).toBe(202)
    expect(JSON.parse(legit.body)).toMatchObject({ duplicate: false, event_id: expect.any(String) })

    // Once the held bodies are answered, their room is given back.
    for (const exchange of flood) exchange.socket.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const again = await send(t.url, '/hooks/github', {
      localAddress: '127.0.0.1',
      method: 'POST',
      ...githubPush(),
    })
    expect(again.status).toBe(202)
  })

  it('are bounded in total, across clients', async () => {
    const clients = ['127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']
    const flood = await Promise.all(clients.map((address) => slowHook(2 * MiB - 4096, address)))
    const answers = await Promise.all(flood.map(answerWithinASecond))
    // Bodies over the 1 MiB limit are refused 413 by their Content-Length, before any budget.
    expect(answers.map(statusOf)).toEqual([413, 413, 413, 413])

    const fill = await Promise.all(
      clients.flatMap((address) => [slowHook(MiB - 1024, address), slowHook(MiB - 1024, address)]),
    )
    const filled = await Promise.all(fill.map(answerWithinASecond))
    // 6 MiB in all: six bodies are held whoever sends them, the other two wait for room.
    expect(filled.filter((a) => a === 'still held')).toHaveLength(6)
    expect(filled.filter((a) => a !== 'still held').map(statusOf)).toEqual([503, 503])
  })
})

describe('connections', () => {
  let t: TestRelay
  let port: number
  beforeAll(async () => {
    t = await startTestRelay(testSettings(github.url), {
      limits: { maxConnections: 12, maxConnectionsPerClient: 6, headersTimeoutMs: 500 },
    })
    port = Number(new URL(t.url).port)
  })
  afterAll(async () => {
    await t?.close()
  })

  it('past the bound for one client are answered 503 and handle nothing, others are served', async () => {
    const idle = await Promise.all(Array.from({ length: 6 }, () => held(port)))
    const extra = await held(port)
    // The hook it sends is not handled: the answer is the refusal, and no event is recorded.
    const body = fixture('dockerhub-push.json')
    extra.socket.write(
      head(`/hooks/dockerhub/${SECRETS.dockerhub}`, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      }) + body,
    )
    const answer = await extra.closed
    expect(statusOf(answer)).toBe(503)
    expect(answer).toMatch(/^Retry-After: 5\r$/m)
    expect(answer).toContain('urn:hookchain:problem:relay-busy')

    expect((await send(t.url, '/healthz', { localAddress: '127.0.0.2' })).status).toBe(200)
    for (const exchange of idle) exchange.socket.destroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect((await send(t.url, '/healthz', { localAddress: '127.0.0.1' })).status).toBe(200)
    const events = await t.api<{ events: unknown[] }>('/api/events')
    expect(events.events).toHaveLength(0)
  })

  it('that send nothing, or not all of their headers, are answered 408 and closed', async () => {
    const started = Date.now()
    const silent = await held(port, '127.0.0.7')
    const partial = await held(port, '127.0.0.7')
    partial.socket.write('POST /hooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n')
    const [quiet, slow] = await Promise.all([silent.closed, partial.closed])
    expect(statusOf(quiet)).toBe(408)
    expect(statusOf(slow)).toBe(408)
    expect(Date.now() - started).toBeLessThan(5000)
  })
})
