import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { type Relay, startRelay } from '../../../src/relay/main.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { eventually, fixture, SECRETS, testSettings } from '../relay-harness.js'
import { dropSchema, newSchemaName, schemaUrl } from '../store/postgres-factory.js'

const EVENTS = 20
const INTERVAL_MS = 100

let github: GitHubStandIn | null = null
let relays: Relay[] = []
let schema: string | null = null

afterEach(async () => {
  await Promise.all(relays.map((relay) => relay.close()))
  relays = []
  await github?.close()
  github = null
  if (schema) await dropSchema(schema)
  schema = null
})

describe('GitHub writes paced across two relays on one PostgreSQL database', () => {
  it('holds writes_per_minute for both together and sends each run once, with a backlog longer than the lease', async () => {
    github = await startGitHubStandIn()
    schema = newSchemaName()
    const base = testSettings(github.url)
    const settings = {
      ...base,
      github: { ...base.github, writesPerMinute: 60_000 / INTERVAL_MS },
      chains: base.chains.map((chain) => ({ ...chain, steps: chain.steps.slice(0, 1) })),
    }
    const log: string[] = []
    const logger = pino({ level: 'debug' }, { write: (line: string) => void log.push(line) })
    // 8 jobs in flight per relay, 100 ms apart: the last in line would wait 1.6 s for its slot,
    // past this 1.2 s lease, and be claimed and sent again if it waited under it.
    relays = await Promise.all(
      [0, 1].map(() =>
        startRelay({
          settings,
          databaseUrl: schemaUrl(schema as string),
          port: 0,
          host: '127.0.0.1',
          logger,
          defaultMetrics: false,
          outbox: { leaseMs: 1200, pollMs: 20, retryDelay: () => 50 },
        }),
      ),
    )

    const runIds: string[] = []
    await Promise.all(
      Array.from({ length: EVENTS }, async (_, n) => {
        const body = JSON.parse(fixture('dockerhub-push.json'))
        body.push_data.tag = `v${n}`
        const relay = relays[n % relays.length] as Relay
        const response = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        expect(response.status).toBe(202)
        runIds.push(...((await response.json()) as { runs: string[] }).runs)
      }),
    )
    const stand = github
    const dispatches = await stand.waitForDispatches(EVENTS, 15_000)
    // Longer than any lease: a dispatch sent twice would have shown up by now.
    await new Promise((resolve) => setTimeout(resolve, 1500))

    expect(stand.dispatches).toHaveLength(EVENTS)
    expect(new Set(stand.dispatches.map((d) => d.clientPayload?.run_id))).toEqual(new Set(runIds))
    // Each relay alone at 600 a minute would have sent the 20 in about 0.9 s; together, 1.9 s.
    // A write goes out at its slot or, on a busy machine, a little after: the first few, sent
    // while both relays are still taking the burst in, can be late enough to be sent together
    // with the next ones, so the margin is three slots.
    const times = dispatches.map((d) => d.receivedAt.getTime())
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(
      (EVENTS - 4) * INTERVAL_MS,
    )
    // The ones with no slot in time went back to the outbox instead of waiting under the lease,
    // due at their slot, and not as a failed try with its backoff.
    expect(log.some((line) => line.includes('the next free slot is'))).toBe(true)
    expect(log.filter((line) => line.includes('trying again'))).toEqual([])
    const runs = await eventually(async () => {
      const answer = await fetch(`${relays[1]?.url}/api/runs?limit=100`, {
        headers: { authorization: `Bearer ${SECRETS.admin}` },
      })
      const { runs } = (await answer.json()) as {
        runs: { steps: { state: string; attempts: unknown[] }[] }[]
      }
      return runs.every((run) => run.steps[0]?.state === 'running') ? runs : undefined
    })
    // The history shows one attempt each: the refusals left none behind.
    expect(runs.map((run) => run.steps[0]?.attempts.length)).toEqual(Array(EVENTS).fill(1))
  }, 30_000)
})
