import { brotliCompressSync, constants } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BODY_LIMIT_BYTES } from '../../src/relay/http/body.js'
import { SECRETS } from '../relay/relay-harness.js'
import { type FuzzRelay, SOURCE_ROUTES, seed, startFuzzRelay } from './fuzz-relay.js'
import { storedStateProblems } from './stored-state.js'

let fuzz: FuzzRelay
let callbackPath: string

beforeAll(async () => {
  fuzz = await startFuzzRelay()
  await seed(fuzz.relay)
  const [dispatch] = await fuzz.github.waitForDispatches(1)
  callbackPath = new URL(String(dispatch?.clientPayload?.callback_url)).pathname
})
afterAll(async () => {
  await fuzz?.close()
})

const brotliBomb = brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), {
  params: { [constants.BROTLI_PARAM_QUALITY]: 5 },
})
const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
const tooLarge = Buffer.alloc(BODY_LIMIT_BYTES + 1, 0x20)

/** One bad request of each kind a careless or hostile client sends, chosen by `i`. */
function badRequest(i: number): { path: string; init: RequestInit } {
  const json = { 'content-type': 'application/json' }
  const kinds: (() => { path: string; init: RequestInit })[] = [
    () => ({
      path: SOURCE_ROUTES.dockerhub,
      init: { method: 'POST', headers: json, body: `{"push_data": ${i}` },
    }),
    () => ({
      path: '/hooks/dockerhub/wrong-secret',
      init: { method: 'POST', headers: json, body: '{}' },
    }),
    () => ({
      path: SOURCE_ROUTES.distribution,
      init: { method: 'POST', headers: { ...json, authorization: `Bearer ${i}` }, body: '{}' },
    }),
    () => ({ path: `/hooks/nope-${i}`, init: { method: 'POST', headers: json, body: '{}' } }),
    () => ({
      path: SOURCE_ROUTES.dockerhub,
      init: { method: 'POST', headers: { ...json, 'content-encoding': 'br' }, body: brotliBomb },
    }),
    () => ({ path: SOURCE_ROUTES.dockerhub, init: { method: 'POST', headers: json, body: deep } }),
    () => ({
      path: callbackPath,
      init: { method: 'POST', headers: json, body: `{"state":"done-${i}"}` },
    }),
    () => ({
      path: `/callbacks/${'A'.repeat(40)}${i}`,
      init: { method: 'POST', headers: json, body: '{}' },
    }),
    () => ({
      path: `/api/runs?limit=${i}&state=nope`,
      init: { headers: { authorization: `Bearer ${SECRETS.admin}` } },
    }),
    () => ({ path: `/api/runs/${i}`, init: { headers: { authorization: 'Bearer wrong' } } }),
    () => ({
      path: SOURCE_ROUTES.quay,
      init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' },
    }),
  ]
  // A body over the limit is a megabyte to send: one request in fifty.
  if (i % 50 === 0)
    return {
      path: SOURCE_ROUTES.dockerhub,
      init: { method: 'POST', headers: json, body: tooLarge },
    }
  return (kinds[i % kinds.length] as () => { path: string; init: RequestInit })()
}

async function send(i: number): Promise<number> {
  const { path, init } = badRequest(i)
  const response = await fetch(`${fuzz.relay.url}${path}`, init)
  await response.arrayBuffer()
  return response.status
}

/** Heap and buffers after a full collection (vitest.heavy.config.ts runs with --expose-gc). */
function retained(): number {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('run with --expose-gc: npx vitest run -c vitest.heavy.config.ts')
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

describe('thousands of bad requests', () => {
  it('keep memory flat, and every one gets a 4xx', async () => {
    const statuses = new Map<number, number>()
    const round = async (from: number, count: number) => {
      for (let start = from; start < from + count; start += 50) {
        const answers = await Promise.all(Array.from({ length: 50 }, (_, k) => send(start + k)))
        for (const status of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
    }
    await round(0, 1000)
    const before = retained()
    const started = Date.now()
    await round(1000, 5000)
    const after = retained()
    expect(Date.now() - started).toBeLessThan(90_000)
    for (const status of statuses.keys()) {
      expect(status).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(500)
    }
    expect(statuses.get(413)).toBeGreaterThan(0)
    expect(
      after - before,
      `${((after - before) / 1048576).toFixed(1)} MiB more retained`,
    ).toBeLessThan(16 * 1024 * 1024)
  })

  it('leave the stored state consistent and the relay serving', async () => {
    expect((await fetch(`${fuzz.relay.url}/healthz`)).status).toBe(200)
    expect(storedStateProblems(fuzz.relay.databaseFile, { settled: false })).toEqual([])
  })
})
