import { execFileSync } from 'node:child_process'
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Relay, startRelay } from '../../src/relay/main.js'
import { fixture, SECRETS, testSettings } from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'

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
let relay: Relay
const logs: string[] = []

describe.skipIf(!mounted)('a disk that refuses writes while the relay runs', () => {
  beforeAll(async () => {
    github = await startGitHubStandIn()
    relay = await startRelay({
      settings: testSettings(github.url),
      databaseUrl: `sqlite:${join(mountPoint, 'hookchain.db')}`,
      port: 0,
      host: '127.0.0.1',
      logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(line) }),
      defaultMetrics: false,
      worker: { pollMs: 20, retryDelay: () => 50 },
    })
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
    return fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  }

  it('refuses new events with 503, keeps answering, loses nothing acknowledged, and recovers', async () => {
    const before = await push('v1')
    expect(before.status).toBe(202)
    const { event_id: kept } = (await before.json()) as { event_id: string }
    await github.waitForDispatches(1)

    fillDisk()
    try {
      const refused = await push('v2')
      expect(refused.status).toBe(503)
      expect(refused.headers.get('retry-after')).toBe('5')
      expect(((await refused.json()) as { detail: string }).detail).toContain(
        'nothing of this request was kept',
      )
      expect((await fetch(`${relay.url}/healthz`)).status).toBe(200)
      const history = await fetch(`${relay.url}/api/events/${kept}`, {
        headers: { authorization: `Bearer ${SECRETS.admin}` },
      })
      expect(history.status).toBe(200)
      expect(logs.some((line) => line.includes('database unavailable'))).toBe(true)
    } finally {
      rmSync(filler, { force: true })
    }

    const after = await push('v3')
    expect(after.status).toBe(202)
    await github.waitForDispatches(2)
    const events = (await (
      await fetch(`${relay.url}/api/events`, {
        headers: { authorization: `Bearer ${SECRETS.admin}` },
      })
    ).json()) as {
      events: { pushes: { tag: string }[] }[]
    }
    expect(events.events.map((e) => e.pushes[0]?.tag)).toEqual(['v3', 'v1'])
  })
})
