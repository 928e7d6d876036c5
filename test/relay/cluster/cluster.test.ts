import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../../support/github-stand-in.js'
import { eventually, fixture, SECRETS } from '../relay-harness.js'
import { type RelayProcess, spawnRelay } from '../relay-process.js'
import { dropSchema, newSchemaName, schemaUrl } from '../store/postgres-factory.js'

const EVENTS = 300

interface RunJson {
  id: string
  state: string
  steps: { state: string; attempts: { status: number | null }[] }[]
}

let github: GitHubStandIn
let dir: string
const schemas: string[] = []

beforeAll(async () => {
  github = await startGitHubStandIn()
  dir = mkdtempSync(join(tmpdir(), 'hookchain-cluster-'))
  writeFileSync(
    join(dir, 'hookchain.yml'),
    `public_url: http://relay.test
admin_token: ${SECRETS.admin}
github:
  api_url: ${github.url}
  token: ${STAND_IN_TOKEN}
  writes_per_minute: 0
sources:
  dockerhub:
    secret: ${SECRETS.dockerhub}
chains:
  - name: release
    match: { repository: svendowideit/testhook }
    step_timeout: 10m
    steps:
      - dispatch: { repository: acme/integration-tests, event_type: image-pushed }
      - dispatch: { repository: acme/deploy, event_type: deploy }
`,
  )
})

afterAll(async () => {
  await github.close()
  for (const schema of schemas) await dropSchema(schema)
  rmSync(dir, { recursive: true, force: true })
})

function freshDatabase(): string {
  const schema = newSchemaName()
  schemas.push(schema)
  return schemaUrl(schema)
}

function start(database: string): Promise<RelayProcess> {
  return spawnRelay(['--config', join(dir, 'hookchain.yml'), '--database', database], {
    HOOKCHAIN_LEASE_MS: '2000',
  })
}

async function stop(relay: RelayProcess) {
  relay.child.kill('SIGTERM')
  await relay.exited
}

const admin = { authorization: `Bearer ${SECRETS.admin}` }

describe('several relays on one PostgreSQL database', () => {
  it('both come up when two start at the same moment on an empty database', async () => {
    const database = freshDatabase()
    const relays = await Promise.all([start(database), start(database)])
    try {
      for (const relay of relays) {
        expect(await (await fetch(`${relay.url}/readyz`)).json()).toEqual({
          status: 'ready',
          database: 'postgres',
        })
      }
    } finally {
      await Promise.all(relays.map(stop))
    }
  })

  it('dispatch every acknowledged event once when one of three is killed half way', async () => {
    const database = freshDatabase()
    const relays = await Promise.all([start(database), start(database), start(database)])
    const [victim, ...survivors] = relays as [RelayProcess, RelayProcess, RelayProcess]
    const acknowledged = new Map<string, string>()
    let sent = 0
    let killed = false
    try {
      async function sender(lane: number) {
        while (sent < EVENTS) {
          const n = sent++
          const picked = relays[(n + lane) % relays.length] as RelayProcess
          const relay = killed && picked === victim ? (survivors[n % 2] as RelayProcess) : picked
          const body = JSON.parse(fixture('dockerhub-push.json'))
          body.push_data.tag = `v${n}`
          try {
            const response = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify(body),
            })
            if (response.status === 202) {
              const answer = (await response.json()) as { runs: string[] }
              acknowledged.set(answer.runs[0] as string, relay.url)
            }
          } catch {
            // The killed relay never acknowledged this one.
          }
          if (!killed && acknowledged.size >= EVENTS / 2) {
            killed = true
            victim.child.kill('SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: 6 }, (_, lane) => sender(lane)))
      expect(await victim.exited).toBeNull()
      expect(acknowledged.size).toBeGreaterThanOrEqual(EVENTS - 10)

      const runIds = [...acknowledged.keys()]
      const firstSteps = () => github.dispatches.filter((d) => d.clientPayload?.step === 1)
      await eventually(() => {
        const dispatched = new Set(firstSteps().map((d) => d.clientPayload?.run_id))
        return runIds.every((id) => dispatched.has(id)) ? true : undefined
      }, 30_000)

      const perRun = new Map<unknown, number>()
      for (const d of firstSteps())
        perRun.set(d.clientPayload?.run_id, (perRun.get(d.clientPayload?.run_id) ?? 0) + 1)
      const twice = [...perRun].filter(([, n]) => n > 1).map(([id]) => String(id))
      // Only what the killed relay had in flight may go out twice: at most its outbox concurrency.
      expect(twice.length).toBeLessThanOrEqual(8)
      const [reader] = survivors
      for (const id of twice) {
        const run = (await (
          await fetch(`${reader.url}/api/runs/${id}`, { headers: admin })
        ).json()) as RunJson
        expect(run.steps[0]?.attempts.length).toBeGreaterThanOrEqual(2)
      }

      // A callback is taken by a relay other than the one that dispatched: any of them will do.
      const sample = firstSteps().find((d) => d.clientPayload?.run_id === runIds[0])
      const callbackUrl = String(sample?.clientPayload?.callback_url)
      for (const [i, relay] of survivors.entries()) {
        const dispatch = firstSteps().find((d) => d.clientPayload?.run_id === runIds[i + 1])
        const url = String(dispatch?.clientPayload?.callback_url).replace(
          'http://relay.test',
          relay.url,
        )
        const answer = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"state":"success"}',
        })
        expect(answer.status).toBe(200)
      }
      expect(callbackUrl).toMatch(/^http:\/\/relay\.test\/callbacks\//)
      for (const relay of survivors) {
        const response = await fetch(`${relay.url}/api/runs/${runIds[1]}`, { headers: admin })
        expect(((await response.json()) as RunJson).steps[0]?.state).toBe('success')
      }
    } finally {
      await Promise.all(survivors.map(stop))
    }
  }, 90_000)
})
