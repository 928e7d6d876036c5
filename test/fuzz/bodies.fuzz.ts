import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BODY_LIMIT_BYTES } from '../../src/relay/http/body.js'
import { eventually, fixture } from '../relay/relay-harness.js'
import {
  authFor,
  type Encoding,
  encode,
  expectClientAnswer,
  type FuzzRelay,
  rawRequest,
  SOURCE_ROUTES,
  type SourceName,
  startFuzzRelay,
} from './fuzz-relay.js'
import { storedStateProblems } from './stored-state.js'

let fuzz: FuzzRelay
let callbackPath: string

beforeAll(async () => {
  fuzz = await startFuzzRelay()
  const accepted = await post('dockerhub', Buffer.from(fixture('dockerhub-push.json')))
  expect(accepted.status).toBe(202)
  const [dispatch] = await fuzz.github.waitForDispatches(1)
  callbackPath = new URL(String(dispatch?.clientPayload?.callback_url)).pathname
})
afterAll(async () => {
  await fuzz?.close()
})

/** POSTs `body` to a source's route, authorised for `plain` (the bytes before any encoding). */
function post(
  source: SourceName,
  body: Buffer | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
  plain: Buffer = Buffer.isBuffer(body) ? body : Buffer.alloc(0),
): Promise<Response> {
  return fetch(`${fuzz.relay.url}${SOURCE_ROUTES[source]}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(source === 'github' ? { 'x-github-event': 'registry_package' } : {}),
      ...(source === 'gitea' ? { 'x-gitea-event': 'package' } : {}),
      ...authFor(source, plain),
      ...headers,
    },
    body,
    ...(Buffer.isBuffer(body) ? {} : { duplex: 'half' }),
  } as RequestInit)
}

const hook = (source: SourceName) => ({ method: 'POST', path: SOURCE_ROUTES[source] })

/** The Docker Hub sample with a `padding` string that makes it exactly `size` bytes. */
function paddedPush(size: number, tag: string): Buffer {
  const sample = JSON.parse(fixture('dockerhub-push.json'))
  sample.push_data.tag = tag
  const bare = Buffer.byteLength(JSON.stringify({ ...sample, padding: '' }))
  const body = Buffer.from(JSON.stringify({ ...sample, padding: 'x'.repeat(size - bare) }))
  expect(body.length).toBe(size)
  return body
}

/** Samples the process's resident memory while `work` runs; answers the growth at its peak. */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const start = process.memoryUsage.rss()
  let peak = start
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss())
  }, 2)
  try {
    const result = await work()
    peak = Math.max(peak, process.memoryUsage.rss())
    return { result, bytes: peak - start }
  } finally {
    clearInterval(timer)
  }
}

describe('compressed bodies', () => {
  it.each(['gzip', 'deflate', 'br'] as const)(
    'takes a signed push compressed with %s',
    async (encoding) => {
      // GitHub signs the body it means: the relay checks the signature on the inflated bytes.
      const plain = Buffer.from(fixture('github-registry-package-published.json'))
      const response = await post(
        'github',
        encode(encoding, plain),
        { 'content-encoding': encoding },
        plain,
      )
      expect(response.status, await response.clone().text()).toBe(202)
      await response.arrayBuffer()
    },
  )

  it('answers any corrupt or truncated compressed body with a 4xx problem', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Encoding>('gzip', 'deflate', 'br'),
        fc.oneof(
          fc
            .uint8Array({ minLength: 1, maxLength: 2000 })
            .map((b) => ({ kind: 'noise', bytes: Buffer.from(b) })),
          fc
            .tuple(fc.nat(), fc.nat())
            .map(([cut, flip]) => ({ kind: 'damaged', cut, flip }) as const),
        ),
        async (encoding, damage) => {
          const good = encode(encoding, Buffer.from(fixture('dockerhub-push.json')))
          let bytes: Buffer
          if ('bytes' in damage) bytes = damage.bytes as Buffer
          else {
            bytes = Buffer.from(good.subarray(0, 1 + (damage.cut % good.length)))
            const at = damage.flip % bytes.length
            bytes[at] = (bytes[at] ?? 0) ^ 0xff
          }
          const response = await post('dockerhub', bytes, { 'content-encoding': encoding })
          // Damage can leave a valid stream of other JSON: then the payload is judged as usual.
          await expectClientAnswer(response, hook('dockerhub'), [202, 400, 415, 422])
        },
      ),
      { numRuns: 600, interruptAfterTimeLimit: 30_000 },
    )
  })

  it('refuses encodings it does not know with 415', async () => {
    for (const encoding of ['zstd', 'compress', 'gzip, br', 'x-gzip', 'identity, gzip']) {
      const response = await post('dockerhub', Buffer.from('{}'), { 'content-encoding': encoding })
      await expectClientAnswer(response, hook('dockerhub'), [415])
    }
  })
})

describe('bombs and sizes', () => {
  const gzipBomb = () => {
    // Concatenated gzip members are one valid stream: 256 × 16 MiB of zeros, 4 GiB in 4 MB.
    const member = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 })
    return Buffer.concat(Array.from({ length: 256 }, () => member))
  }
  const bombs: [Encoding, () => Buffer, string][] = [
    ['gzip', gzipBomb, '4 GiB'],
    ['deflate', () => deflateSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }), '64 MiB'],
    [
      'br',
      () =>
        brotliCompressSync(Buffer.alloc(256 * 1024 * 1024), {
          params: { [constants.BROTLI_PARAM_QUALITY]: 5 },
        }),
      '256 MiB',
    ],
  ]

  it.each(bombs)(
    'refuses a %s bomb with 413, quickly, without inflating it all',
    async (encoding, make, size) => {
      const bomb = make()
      const started = Date.now()
      const { result: response, bytes } = await peakGrowth(async () => {
        const answer = await post('dockerhub', bomb, { 'content-encoding': encoding })
        await expectClientAnswer(answer, hook('dockerhub'), [413])
        return answer
      })
      expect(response.status, `a ${bomb.length}-byte body that inflates to ${size}`).toBe(413)
      expect(Date.now() - started).toBeLessThan(3000)
      // The relay stops at the limit; inflating all would take the whole size in memory.
      expect(bytes).toBeLessThan(48 * 1024 * 1024)
    },
  )

  it('takes a body of exactly the limit, and refuses one byte more with 413', async () => {
    const atLimit = await post('dockerhub', paddedPush(BODY_LIMIT_BYTES, 'v-limit'))
    expect(atLimit.status, await atLimit.clone().text()).toBe(202)
    await atLimit.arrayBuffer()
    const over = await post('dockerhub', paddedPush(BODY_LIMIT_BYTES + 1, 'v-over'))
    await expectClientAnswer(over, hook('dockerhub'), [413])
  })

  it('applies the limit to the inflated size, not the compressed one', async () => {
    const plain = paddedPush(BODY_LIMIT_BYTES + 1, 'v-inflated-over')
    const response = await post('dockerhub', gzipSync(plain), { 'content-encoding': 'gzip' })
    await expectClientAnswer(response, hook('dockerhub'), [413])
    const fits = paddedPush(BODY_LIMIT_BYTES, 'v-inflated-fits')
    const taken = await post('dockerhub', gzipSync(fits), { 'content-encoding': 'gzip' })
    expect(taken.status).toBe(202)
    await taken.arrayBuffer()
  })

  it('refuses a chunked body with no length that runs past the limit', async () => {
    let sent = 0
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Bounded all the same: the test must end even if the relay kept reading.
        if (sent > 64 * 1024 * 1024) return controller.close()
        sent += 64 * 1024
        controller.enqueue(new Uint8Array(64 * 1024).fill(0x20))
      },
    })
    const response = await post('dockerhub', endless)
    await expectClientAnswer(response, hook('dockerhub'), [413])
  })

  it('answers random sizes around the limit with 202, 413 or 422 only', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: BODY_LIMIT_BYTES - 2048, max: BODY_LIMIT_BYTES + 2048 }),
        fc.constantFrom<Encoding | null>(null, 'gzip', 'br'),
        async (size, encoding) => {
          const plain = paddedPush(size, `v-size-${size}`)
          const body = encoding ? encode(encoding, plain) : plain
          const response = await post(
            'dockerhub',
            body,
            encoding ? { 'content-encoding': encoding } : {},
          )
          await expectClientAnswer(
            response,
            hook('dockerhub'),
            size > BODY_LIMIT_BYTES ? [413] : [202],
          )
        },
      ),
      { numRuns: 60, interruptAfterTimeLimit: 30_000 },
    )
  })
})

describe('deeply nested JSON', () => {
  const deepArray = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
  const deepObject = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`

  it.each(Object.keys(SOURCE_ROUTES) as SourceName[])(
    'answers %s with a 4xx, 100,000 levels deep',
    async (source) => {
      for (const text of [deepArray, deepObject]) {
        const body = Buffer.from(text)
        await expectClientAnswer(await post(source, body), hook(source), [400, 422])
      }
    },
  )

  it('answers a callback 100,000 levels deep with a 4xx', async () => {
    for (const text of [deepArray, deepObject, `{"state":"success","description":${deepArray}}`]) {
      const response = await fetch(`${fuzz.relay.url}${callbackPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: text,
      })
      await expectClientAnswer(response, { method: 'POST', path: callbackPath }, [400, 422])
    }
  })

  it('keeps the payload of a deeply nested push that is otherwise valid', async () => {
    const sample = JSON.parse(fixture('dockerhub-push.json'))
    sample.push_data.tag = 'v-deep'
    const text = JSON.stringify(sample).replace(/}$/, `,"deep":${deepArray}}`)
    const response = await post('dockerhub', Buffer.from(text))
    expect(response.status, await response.clone().text()).toBe(202)
    const { event_id: id } = (await response.json()) as { event_id: string }
    const event = await fuzz.relay.api<{ payload: string }>(`/api/events/${id}?reveal=callback_url`)
    expect(event.payload.length).toBe(text.length)
  })
})

describe('requests no HTTP client would send', () => {
  const head = (lines: string[]) => `${lines.join('\r\n')}\r\n\r\n`
  const route = SOURCE_ROUTES.dockerhub

  const malformed: [string, string | Buffer][] = [
    ['a request line of garbage', head(['\u0000\u0001 nonsense'])],
    ['an unknown method', head([`BREW ${route} HTTP/1.1`, 'Host: x'])],
    ['a header without a colon', head([`POST ${route} HTTP/1.1`, 'Host: x', 'broken header'])],
    [
      'a negative Content-Length',
      head([`POST ${route} HTTP/1.1`, 'Host: x', 'Content-Length: -1']),
    ],
    [
      'two different Content-Lengths',
      head([`POST ${route} HTTP/1.1`, 'Host: x', 'Content-Length: 2', 'Content-Length: 3']),
    ],
    [
      'Content-Length with chunked encoding',
      head([
        `POST ${route} HTTP/1.1`,
        'Host: x',
        'Content-Length: 2',
        'Transfer-Encoding: chunked',
      ]),
    ],
    [
      'a broken chunk',
      `${head([`POST ${route} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Transfer-Encoding: chunked'])}zz\r\n{}\r\n0\r\n\r\n`,
    ],
    [
      'headers of 100 KB',
      head([`GET /healthz HTTP/1.1`, 'Host: x', `X-Big: ${'a'.repeat(100_000)}`]),
    ],
    ['a path of 100 KB', head([`GET /${'a'.repeat(100_000)} HTTP/1.1`, 'Host: x'])],
  ]

  it.each(malformed)(
    'answers %s with a 4xx or a closed connection, and keeps serving',
    async (_name, bytes) => {
      const answer = await rawRequest(fuzz.relay.url, bytes)
      if (answer.status !== null) {
        expect(answer.status).toBeGreaterThanOrEqual(400)
        expect(answer.status).toBeLessThan(500)
      }
      expect((await fetch(`${fuzz.relay.url}/healthz`)).status).toBe(200)
    },
  )

  // Node answers these itself, before Express: main.ts answers its `clientError` as problem+json.
  it('answers a malformed request with problem+json, as every other 4xx', async () => {
    const answer = await rawRequest(fuzz.relay.url, head([`POST ${route} HTTP/1.1`, 'broken']))
    expect(answer.status).toBe(400)
    expect(answer.head.toLowerCase()).toContain('content-type: application/problem+json')
  })

  it('answers a body shorter than its Content-Length once the client gives up, and keeps serving', async () => {
    const answer = await rawRequest(
      fuzz.relay.url,
      `${head([`POST ${route} HTTP/1.1`, 'Host: x', 'Content-Type: application/json', 'Content-Length: 5000'])}{"push_data":`,
      500,
    )
    expect(answer.status).toBeNull()
    expect((await fetch(`${fuzz.relay.url}/healthz`)).status).toBe(200)
  })

  it('refuses a declared Content-Length over the limit with 413, whatever follows', async () => {
    const size = 4 * BODY_LIMIT_BYTES
    const request = head([
      `POST ${route} HTTP/1.1`,
      'Host: x',
      'Content-Type: application/json',
      `Content-Length: ${size}`,
    ])
    const answer = await rawRequest(
      fuzz.relay.url,
      Buffer.concat([Buffer.from(request), Buffer.alloc(size, 0x20)]),
    )
    expect(answer.status).toBe(413)
    expect(answer.head.toLowerCase()).toContain('content-type: application/problem+json')
  })

  it('still serves, and leaves the stored state consistent', async () => {
    expect((await fetch(`${fuzz.relay.url}/readyz`)).status).toBe(200)
    const problems = await eventually(() => {
      const found = storedStateProblems(fuzz.relay.databaseFile, { settled: true })
      return found.length === 0 ? found : undefined
    }, 5000).catch(() => storedStateProblems(fuzz.relay.databaseFile, { settled: true }))
    expect(problems).toEqual([])
  })
})
