import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import { type FaultRelay, longestStallMs, report, standInPerTest } from './fault-relay.js'

/*
 * Why a lock and not `chmod 0444`: file permissions do not stop root, and the relay's open handle
 * keeps writing whatever the file's mode. A second connection holding `BEGIN EXCLUSIVE` (as a
 * backup tool or the sqlite3 shell would) really refuses every write of the relay with
 * SQLITE_BUSY, for as long as the test wants, on any filesystem. (`full-disk.test.ts` fills the
 * disk under the relay instead.)
 */

const { github, startRelay } = standInPerTest()

/** Holds the database's write lock from another connection until the returned function is called. */
function lockDatabase(file: string): () => void {
  const other = new Database(file)
  other.exec('BEGIN EXCLUSIVE')
  return () => {
    other.exec('ROLLBACK')
    other.close()
  }
}

function pushBody(tag: string): string {
  const body = JSON.parse(fixture('dockerhub-push.json'))
  body.push_data.tag = tag
  return JSON.stringify(body)
}

/** The callback URL handed to GitHub in the dispatch of this run's latest step. */
async function dispatchedCallback(relay: FaultRelay, runId: string, count = 1): Promise<string> {
  const mine = await eventually(() => {
    const found = github().dispatches.filter((d) => d.clientPayload?.run_id === runId)
    return found.length >= count ? found : undefined
  })
  return relay.local(String(mine.at(-1)?.clientPayload?.callback_url))
}

const adminGet = (relay: FaultRelay, path: string) =>
  fetch(`${relay.url}${path}`, { headers: { authorization: `Bearer ${SECRETS.admin}` } })

describe('a database another process keeps locked', () => {
  it('refuses new events with 503 and Retry-After, keeps serving and never stalls, loses nothing acknowledged, and recovers', async () => {
    const relay = await startRelay(github().url)
    const before = await relay.push('v1')
    await dispatchedCallback(relay, before)

    const unlock = lockDatabase(relay.databaseFile)
    let refused: Response[] = []
    try {
      const stall = await longestStallMs(async () => {
        const started = Date.now()
        const pushes = Array.from({ length: 20 }, (_, i) =>
          relay.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, pushBody(`locked-${i}`)),
        )
        // Meanwhile the relay keeps answering what needs no write, without waiting on the lock.
        for (const path of ['/healthz', '/readyz', '/metrics']) {
          const answer = await fetch(`${relay.url}${path}`)
          expect(answer.status, path).toBe(200)
        }
        expect((await adminGet(relay, `/api/runs/${before}`)).status).toBe(200)
        refused = await Promise.all(pushes)
        expect(Date.now() - started).toBeLessThan(5000)
      })
      // A synchronous wait for the lock (SQLite's busy handler) would freeze every client for the
      // busy timeout, once per write: 250 ms each, 5 s in all, before the relay waited without it.
      expect(stall).toBeLessThan(250)
    } finally {
      unlock()
    }
    for (const answer of refused) {
      expect(answer.status).toBe(503)
      expect(answer.headers.get('retry-after')).toBe('5')
      expect(answer.headers.get('content-type')).toContain('application/problem+json')
      expect(((await answer.json()) as { detail: string }).detail).toContain(
        'nothing of this request was kept',
      )
    }
    expect(relay.logged(/database unavailable/).length).toBeGreaterThan(0)
    // The hook's secret is in the path of every refused request, and must not be in the log.
    const unavailable = relay.logs.filter((line) => line.includes('database unavailable'))
    expect(unavailable.map((line) => JSON.parse(line).path)).toContain('/hooks/dockerhub/…')
    expect(relay.logs.join('\n')).not.toContain(SECRETS.dockerhub)
    expect(
      await relay.metric('hookchain_http_problems_total', {
        status: '503',
        type: 'database-unavailable',
      }),
    ).toBe(refused.length)

    const after = await relay.push('v3')
    await dispatchedCallback(relay, after)
    expect((await relay.run(before)).state).toBe('running')
    expect((await relay.run(after)).state).toBe('running')
    const events = await relay.api<{ events: { pushes: { tag: string }[] }[] }>('/api/events')
    expect(events.events.map((e) => e.pushes[0]?.tag)).toEqual(['v3', 'v1'])
  })

  it('refuses a callback with 503 while locked, so the step can report again, and takes it afterwards', async () => {
    const relay = await startRelay(github().url)
    const id = await relay.push('latest')
    const callbackUrl = await dispatchedCallback(relay, id)
    await relay.until(id, (x) => x.steps[0]?.state === 'running')

    const unlock = lockDatabase(relay.databaseFile)
    try {
      const refused = await report(callbackUrl, 'success')
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
    } finally {
      unlock()
    }
    const token = new URL(callbackUrl).pathname.split('/').at(-1) ?? ''
    expect(relay.logged(/database unavailable/).length).toBeGreaterThan(0)
    expect(token.length).toBeGreaterThan(20)
    expect(relay.logs.join('\n')).not.toContain(token)
    const run = await relay.run(id)
    expect(run.steps.map((s) => s.state)).toEqual(['running', 'queued'])

    expect((await report(callbackUrl, 'success')).status).toBe(200)
    await dispatchedCallback(relay, id, 2)
    await relay.until(id, (x) => x.steps[1]?.state === 'running')
  })

  it('dispatches an acknowledged event whose delivery could not be recorded once the lock is gone', async () => {
    const relay = await startRelay(
      github().url,
      {},
      { outboundTimeoutMs: 500, outbox: { leaseMs: 1500 } },
    )
    github().hang(1)
    const sent = github().requests.length
    const id = await relay.push('latest')
    await eventually(() => github().requests.length > sent || undefined)
    const unlock = lockDatabase(relay.databaseFile)
    try {
      // The hanging dispatch times out while the lock is held: its outcome cannot be written.
      await eventually(() => relay.logged(/outbox job failed/).length > 0 || undefined)
    } finally {
      unlock()
    }
    const r = await relay.until(id, (x) => x.steps[0]?.state === 'running')
    expect(r.steps[0]?.attempts.at(-1)?.status).toBe(204)
    expect(github().dispatches.filter((d) => d.clientPayload?.run_id === id)).toHaveLength(1)
    expect(relay.logged(/outbox job failed: database is locked/).length).toBeGreaterThan(0)
  })
})
