import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'
import { eventually, fixture, SECRETS } from './relay-harness.js'
import { type RelayProcess, spawnKillableRelay, writeRelayConfig } from './relay-process.js'

const EVENTS = 150

let github: GitHubStandIn
let dir: string

beforeAll(async () => {
  github = await startGitHubStandIn()
  dir = mkdtempSync(join(tmpdir(), 'hookchain-crash-'))
  writeRelayConfig(join(dir, 'hookchain.yml'), {
    githubUrl: github.url,
    stepTimeout: '10m',
    dispatches: [{ repository: 'acme/integration-tests', eventType: 'image-pushed' }],
  })
})

afterAll(async () => {
  await github.close()
  rmSync(dir, { recursive: true, force: true })
})

function start(): Promise<RelayProcess> {
  return spawnKillableRelay(join(dir, 'hookchain.yml'), `sqlite:${join(dir, 'hookchain.db')}`)
}

describe('a relay killed in the middle of a burst', () => {
  it('loses no acknowledged event and dispatches every run after it restarts', async () => {
    const first = await start()
    const acknowledged = new Map<string, string[]>()
    let sent = 0
    let killed = false

    async function sender() {
      while (sent < EVENTS) {
        const n = sent++
        const body = JSON.parse(fixture('dockerhub-push.json'))
        body.push_data.tag = `v${n}`
        try {
          const response = await fetch(`${first.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
          if (response.status === 202) {
            const answer = (await response.json()) as { event_id: string; runs: string[] }
            acknowledged.set(answer.event_id, answer.runs)
          }
        } catch {
          // The relay died under this request: it was never acknowledged.
        }
        if (!killed && acknowledged.size >= EVENTS / 2) {
          killed = true
          first.child.kill('SIGKILL')
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, sender))
    expect(await first.exited).toBeNull()
    expect(acknowledged.size).toBeGreaterThanOrEqual(EVENTS / 2)
    expect(acknowledged.size).toBeLessThan(EVENTS)

    const second = await start()
    try {
      const runIds = [...acknowledged.values()].flat()
      expect(runIds).toHaveLength(acknowledged.size)
      await eventually(() => {
        const dispatched = new Set(github.dispatches.map((d) => d.clientPayload?.run_id))
        return runIds.every((id) => dispatched.has(id)) ? true : undefined
      }, 20_000)

      const headers = { authorization: `Bearer ${SECRETS.admin}` }
      for (const [eventId, runs] of acknowledged) {
        const event = await fetch(`${second.url}/api/events/${eventId}`, { headers })
        expect(event.status).toBe(200)
        expect(((await event.json()) as { runs: string[] }).runs).toEqual(runs)
      }
      const perRun = new Map<unknown, number>()
      for (const d of github.dispatches)
        perRun.set(d.clientPayload?.run_id, (perRun.get(d.clientPayload?.run_id) ?? 0) + 1)
      const twice = [...perRun.values()].filter((n) => n > 1).length
      // Only a dispatch in flight at the kill (sent, not yet marked) may go out again.
      expect(twice).toBeLessThanOrEqual(8)
    } finally {
      second.child.kill('SIGTERM')
      await second.exited
    }
  }, 60_000)
})
