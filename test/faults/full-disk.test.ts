import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { type FaultRelay, report, startFaultRelay } from './fault-relay.js'

/**
 * File permissions do not stop root, and a filesystem with open files cannot be remounted
 * read-only, so the database lives on a small tmpfs of its own that the test fills up: the kernel
 * then refuses every write that needs a page more, as a failing or read-only disk would.
 */
function tryMount(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'hookchain-test', dir], {
      stdio: 'ignore',
    })
    return true
  } catch {
    return false
  }
}

const mountPoint = mkdtempSync(join(tmpdir(), 'hookchain-ro-'))
const mounted = process.getuid?.() === 0 && tryMount(mountPoint)
if (!mounted && process.env.CI)
  throw new Error('the full-disk test needs root and tmpfs mounts, which CI has')
if (!mounted) console.warn('Skipping the full-disk test: it needs root to mount a tmpfs.')

const filler = join(mountPoint, 'filler')
function fillDisk() {
  const chunk = Buffer.alloc(256 * 1024, 1)
  try {
    for (let i = 0; i < 1000; i++) appendFileSync(filler, chunk)
  } catch {
    // ENOSPC: full
  }
  try {
    for (let i = 0; i < 1000; i++) appendFileSync(filler, Buffer.alloc(4096, 1))
  } catch {
    // every last page taken
  }
}

let github: GitHubStandIn
let relay: FaultRelay

describe.skipIf(!mounted)('a disk that refuses writes while the relay runs', () => {
  beforeAll(async () => {
    github = await startGitHubStandIn()
    relay = await startFaultRelay(
      github.url,
      {},
      { databaseUrl: `sqlite:${join(mountPoint, 'hookchain.db')}` },
    )
  })
  afterAll(async () => {
    rmSync(filler, { force: true })
    await relay?.close()
    await github?.close()
    execFileSync('umount', [mountPoint])
    rmSync(mountPoint, { recursive: true, force: true })
  })

  const push = (tag: string) => {
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.push_data.tag = tag
    return relay.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, body)
  }
  const dispatchesOf = (runId: string) =>
    github.dispatches.filter((d) => d.clientPayload?.run_id === runId)

  it('refuses new events and callbacks with 503, keeps answering, loses nothing acknowledged, and recovers', async () => {
    const before = await push('v1')
    expect(before.status).toBe(202)
    const { event_id: kept, runs } = (await before.json()) as { event_id: string; runs: string[] }
    const runId = runs[0] ?? ''
    const [dispatch] = await eventually(() => {
      const found = dispatchesOf(runId)
      return found.length ? found : undefined
    })
    const callbackUrl = relay.local(String(dispatch?.clientPayload?.callback_url))
    await relay.until(runId, (r) => r.steps[0]?.state === 'running')

    fillDisk()
    try {
      const refused = await push('v2')
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(refused.headers.get('content-type')).toContain('application/problem+json')
      expect(((await refused.json()) as { detail: string }).detail).toContain(
        'nothing of this request was kept',
      )
      const callback = await report(callbackUrl, 'success')
      expect(callback.status).toBe(503)
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
      expect(await relay.api(`/api/events/${kept}`)).toMatchObject({ id: kept })
      expect(relay.logged(/database unavailable/).length).toBeGreaterThan(0)
    } finally {
      rmSync(filler, { force: true })
    }

    // The step reports again, as the Action retries a 503: the run goes on.
    expect((await report(callbackUrl, 'success')).status).toBe(200)
    await relay.until(runId, (r) => r.steps[1]?.state === 'running')
    const after = await push('v3')
    expect(after.status).toBe(202)
    const { runs: afterRuns } = (await after.json()) as { runs: string[] }
    await eventually(() => (dispatchesOf(afterRuns[0] ?? '').length ? true : undefined))
    const events = await relay.api<{ events: { pushes: { tag: string }[] }[] }>('/api/events')
    expect(events.events.map((e) => e.pushes[0]?.tag)).toEqual(['v3', 'v1'])
  })
})
