import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { IN_FLIGHT } from '../../../src/relay/model/attempt.js'
import { postgresMigrations } from '../../../src/relay/store/postgres-migrations.js'
import {
  type AcceptedDispatch,
  type GitHubStandIn,
  startGitHubStandIn,
} from '../../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'
import { eventually, fixture, SECRETS } from '../relay-harness.js'
import {
  logLines,
  type RelayProcess,
  spawnKillableRelay,
  spawnRelay,
  writeRelayConfig,
} from '../relay-process.js'
import { adminQuery, dropSchema, newSchemaName, schemaUrl } from '../store/postgres-factory.js'

const EVENTS = 300
/** The outbox worker's default concurrency: at most this many dispatches in flight per relay. */
const IN_FLIGHT_PER_RELAY = 8

let github: GitHubStandIn
let registry: HttpReceiver
let dir: string
const schemas: string[] = []

beforeAll(async () => {
  github = await startGitHubStandIn()
  registry = await startHttpReceiver()
  dir = mkdtempSync(join(tmpdir(), 'hookchain-cluster-'))
  const config = (stepTimeout: string) => ({
    githubUrl: github.url,
    registryCallbackHost: `127.0.0.1:${new URL(registry.url).port}`,
    stepTimeout,
    dispatches: [
      { repository: 'acme/integration-tests', eventType: 'image-pushed' },
      { repository: 'acme/deploy', eventType: 'deploy' },
    ],
  })
  writeRelayConfig(join(dir, 'hookchain.yml'), config('10m'))
  writeRelayConfig(join(dir, 'short-timeout.yml'), config('1s'))
  // A group of three, an approval, a deploy; a webhook told of each approval and success.
  writeRelayConfig(join(dir, 'shapes.yml'), {
    ...config('10m'),
    chain: `    steps:
      - parallel:
          steps:
            - dispatch: { repository: acme/api-tests, event_type: test }
            - dispatch: { repository: acme/ui-tests, event_type: test }
            - dispatch: { repository: acme/load-tests, event_type: test }
      - approval: { timeout: 1h }
      - dispatch: { repository: acme/deploy, event_type: deploy }
    notify:
      - webhook: { url: "${registry.url}/notify", secret: notify-secret-0123456789 }
        on: [approval, success]
`,
  })
})

afterAll(async () => {
  await github.close()
  await registry.close()
  for (const schema of schemas) await dropSchema(schema)
  rmSync(dir, { recursive: true, force: true })
})

function freshSchema(): string {
  const schema = newSchemaName()
  schemas.push(schema)
  return schema
}

function start(schema: string, config = 'hookchain.yml'): Promise<RelayProcess> {
  return spawnKillableRelay(join(dir, config), schemaUrl(schema))
}

async function stop(relay: RelayProcess) {
  relay.child.kill('SIGTERM')
  await relay.exited
}

const admin = { authorization: `Bearer ${SECRETS.admin}` }

function push(tag: string, callbackUrl?: string): string {
  const body = JSON.parse(fixture('dockerhub-push.json'))
  body.push_data.tag = tag
  if (callbackUrl) body.callback_url = callbackUrl
  return JSON.stringify(body)
}

/** POSTs a push; the run ids when the relay acknowledged it (202), else null. */
async function sendPush(relay: RelayProcess, body: string): Promise<string[] | null> {
  const response = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  if (response.status !== 202) return null
  return ((await response.json()) as { runs: string[] }).runs
}

async function getRun(relay: RelayProcess, id: string): Promise<RunJson> {
  const response = await fetch(`${relay.url}/api/runs/${id}`, { headers: admin })
  expect(response.status).toBe(200)
  return (await response.json()) as RunJson
}

/** The runs whose step `step` this relay's log says it dispatched. */
function dispatchedBy(relay: RelayProcess, step: number): Set<string> {
  return new Set(
    logLines(relay)
      .filter((line) => line.step === step && /^step \d+ dispatched/.test(String(line.msg)))
      .map((line) => String(line.run)),
  )
}

function runOf(dispatch: AcceptedDispatch): string {
  return String(dispatch.clientPayload?.run_id)
}

/** Runs `work` over `items`, `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>) {
  let next = 0
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < items.length) await work(items[next++] as T)
    }),
  )
}

describe('several relays on one PostgreSQL database', () => {
  it('both come up when two start at the same moment on an empty database, migrating once', async () => {
    const schema = freshSchema()
    const relays = await Promise.all([start(schema), start(schema)])
    try {
      for (const relay of relays) {
        const ready = await fetch(`${relay.url}/readyz`)
        expect(ready.status).toBe(200)
        expect(await ready.json()).toEqual({ status: 'ready', database: 'postgres' })
      }
      const applied = await adminQuery<{ version: number }>(
        `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
      )
      expect(applied.map((row) => row.version)).toEqual(postgresMigrations.map((m) => m.version))
    } finally {
      await Promise.all(relays.map(stop))
    }
  })

  it('start with a user that may not create tables once the schema is up to date, and say what is missing before', async () => {
    const schema = freshSchema()
    const role = `hc_relay_${schema.slice('hc_test_'.length)}`
    const password = randomBytes(12).toString('hex')
    await adminQuery(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`)
    try {
      const limited = new URL(schemaUrl(schema))
      limited.username = role
      limited.password = password
      const limitedStart = () =>
        spawnRelay(['--config', join(dir, 'hookchain.yml'), '--database', limited.toString()])

      await adminQuery(`CREATE SCHEMA "${schema}"`)
      await adminQuery(`GRANT USAGE ON SCHEMA "${schema}" TO "${role}"`)
      await expect(limitedStart()).rejects.toThrow(/needs CREATE on the schema to apply migrations/)

      await stop(await start(schema))
      await adminQuery(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "${schema}" TO "${role}"`,
      )
      const relay = await limitedStart()
      try {
        expect((await fetch(`${relay.url}/readyz`)).status).toBe(200)
        const [id] = (await sendPush(relay, push('v-limited'))) ?? []
        await eventually(() =>
          github.dispatches.some((d) => runOf(d) === id && d.clientPayload?.step === 1)
            ? true
            : undefined,
        )
      } finally {
        await stop(relay)
      }
    } finally {
      await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      await adminQuery(`DROP ROLE "${role}"`)
    }
  })

  it('dispatches every acknowledged event when one of three is killed half way, twice only what was in flight', async () => {
    const schema = freshSchema()
    const relays = await Promise.all([start(schema), start(schema), start(schema)])
    const [victim, ...survivors] = relays as [RelayProcess, RelayProcess, RelayProcess]
    const acknowledged: string[] = []
    let sent = 0
    let killedAt: number | null = null
    try {
      // Round-robin over the three, six at a time; once the victim is dead, over the other two.
      async function lane() {
        while (sent < EVENTS) {
          const n = sent++
          const picked = relays[n % relays.length] as RelayProcess
          const relay = killedAt && picked === victim ? (survivors[n % 2] as RelayProcess) : picked
          const runs = await sendPush(relay, push(`v${n}`)).catch(() => null)
          if (runs) acknowledged.push(...runs)
          if (!killedAt && acknowledged.length >= EVENTS / 2) {
            killedAt = Date.now()
            victim.child.kill('SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: 6 }, lane))
      expect(await victim.exited).toBeNull()
      // Only what was on its way to the victim as it died went unacknowledged.
      expect(acknowledged.length).toBeGreaterThanOrEqual(EVENTS - 6)

      const firstSteps = () => github.dispatches.filter((d) => d.clientPayload?.step === 1)
      await eventually(() => {
        const dispatched = new Set(firstSteps().map(runOf))
        return acknowledged.every((id) => dispatched.has(id)) ? true : undefined
      }, 30_000)
      // Past another lease: a job claimed twice would have been sent again by now.
      await new Promise((resolve) => setTimeout(resolve, 2500))

      const sends = new Map<string, AcceptedDispatch[]>()
      for (const d of firstSteps()) sends.set(runOf(d), [...(sends.get(runOf(d)) ?? []), d])
      // Besides, at most what the victim had committed but not yet answered as it died.
      const unacknowledged = [...sends.keys()].filter((id) => !acknowledged.includes(id))
      expect(unacknowledged.length).toBeLessThanOrEqual(6)
      const twice = [...sends].filter(([, list]) => list.length > 1)
      expect(twice.length).toBeLessThanOrEqual(IN_FLIGHT_PER_RELAY)
      for (const [id, list] of twice) {
        expect(list, `run ${id} dispatched more than twice`).toHaveLength(2)
        // The first went out before the kill, from the victim: it was in flight.
        expect(list[0]?.receivedAt.getTime()).toBeLessThanOrEqual((killedAt ?? 0) + 500)
        const run = await getRun(survivors[0], id)
        // Both in the history: answered, or in flight when the victim died before the answer.
        const attempts = run.steps[0]?.attempts ?? []
        expect(attempts.length).toBeGreaterThanOrEqual(2)
        for (const attempt of attempts) {
          expect([{ status: 204 }, { status: null, error: IN_FLIGHT }]).toContainEqual(
            attempt.status === 204
              ? { status: 204 }
              : { status: attempt.status, error: attempt.error },
          )
        }
        expect(attempts.some((a) => a.status === 204)).toBe(true)
      }

      // Every run, through either surviving relay, as the stand-in saw it.
      await inLanes(acknowledged, 10, async (id) => {
        for (const relay of survivors) {
          const run = await getRun(relay, id)
          expect(run).toMatchObject({ id, state: 'running' })
          expect(run.steps[0]?.state).toBe('running')
          const answered = run.steps[0]?.attempts.filter((a) => a.status === 204) ?? []
          expect(answered.length).toBeGreaterThanOrEqual(1)
        }
      })

      // A callback reaches another relay than the one that sent the step, and moves the run on.
      const once = (id: string) => sends.get(id)?.length === 1
      const [a, b] = survivors
      const pick = (relay: RelayProcess) => [...dispatchedBy(relay, 1)].find(once)
      const crossings: [string | undefined, RelayProcess][] = [
        [pick(a), b],
        [pick(b), a],
        [pick(victim), a],
      ]
      for (const [id, relay] of crossings) {
        expect(id, 'each relay dispatched a run of its own').toBeDefined()
        const url = String(sends.get(id as string)?.[0]?.clientPayload?.callback_url)
        const answer = await fetch(url.replace('http://relay.test', relay.url), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"state":"success","description":"42 tests PASSED"}',
        })
        expect(answer.status).toBe(200)
      }
      await eventually(() => {
        const second = new Set(
          github.dispatches.filter((d) => d.clientPayload?.step === 2).map(runOf),
        )
        return crossings.every(([id]) => second.has(id as string)) ? true : undefined
      }, 10_000)
      for (const [id] of crossings) {
        for (const relay of survivors) {
          await eventually(async () => {
            const run = await getRun(relay, id as string)
            return run.steps[1]?.state === 'running' ? true : undefined
          })
          expect((await getRun(relay, id as string)).steps[0]?.state).toBe('success')
        }
      }
    } finally {
      await Promise.all(survivors.map(stop))
    }
  }, 90_000)

  it('fires each step timeout once, whichever relay sweeps it', async () => {
    const schema = freshSchema()
    const relays = await Promise.all([0, 1, 2].map(() => start(schema, 'short-timeout.yml')))
    const runs: string[] = []
    const count = 30
    try {
      await inLanes(
        Array.from({ length: count }, (_, n) => n),
        6,
        async (n) => {
          const relay = relays[n % relays.length] as RelayProcess
          const ids = await sendPush(relay, push(`t${n}`, `${registry.url}/hook/${schema}/${n}`))
          expect(ids).toHaveLength(1)
          runs.push(...(ids ?? []))
        },
      )
      const mine = () => registry.requests.filter((r) => r.path.startsWith(`/hook/${schema}/`))
      await eventually(() => (mine().length >= count ? true : undefined), 15_000)
      // Three relays sweep every 500 ms: long enough for a second firing to show.
      await new Promise((resolve) => setTimeout(resolve, 1500))

      // The registry was told each run's result once: one end, so one timeout.
      const paths = mine().map((r) => r.path)
      expect(paths).toHaveLength(count)
      expect(new Set(paths).size).toBe(count)
      for (const request of mine()) expect(request.body).toMatchObject({ state: 'error' })
      const timedOut = relays.flatMap((relay) =>
        logLines(relay)
          .filter((line) => /timed out$/.test(String(line.msg)))
          .map((line) => String(line.run)),
      )
      expect(timedOut.sort()).toEqual([...runs].sort())
      for (const id of runs) {
        const run = await getRun(relays[0] as RelayProcess, id)
        expect(run.state).toBe('error')
        expect(run.steps.map((step) => step.state)).toEqual(['error', 'skipped'])
      }
    } finally {
      await Promise.all(relays.map(stop))
    }
  }, 60_000)
})

describe('two relays on one PostgreSQL database, sharing runs with a parallel group, an approval and notifications', () => {
  const RUNS = 12
  const BRANCHES = ['1.1', '1.2', '1.3']

  it('never dispatch a branch twice, end each group once, and send each notification once', async () => {
    const schema = freshSchema()
    const relays = await Promise.all([start(schema, 'shapes.yml'), start(schema, 'shapes.yml')])
    const other = (n: number) => relays[(n + 1) % 2] as RelayProcess
    const sent = (id: string, step: number | string) =>
      github.dispatches.filter((d) => runOf(d) === id && d.clientPayload?.step === step)
    const notices = () =>
      registry.requests
        .filter((r) => r.path === '/notify')
        .map((r) => ({
          id: String(r.headers['webhook-id']),
          ...(r.body as { type: string; run: { id: string } }),
        }))
    try {
      const runs: string[] = []
      await inLanes(
        Array.from({ length: RUNS }, (_, n) => n),
        4,
        async (n) => {
          const ids = await sendPush(relays[n % 2] as RelayProcess, push(`g${n}`))
          expect(ids).toHaveLength(1)
          runs[n] = ids?.[0] as string
        },
      )
      // The branches report all at once, to both relays, which race to end the group; each run
      // is approved and ends on the relay that did not take its push.
      await inLanes(
        runs.map((id, n) => [id, n] as const),
        4,
        async ([id, n]) => {
          const branches = await eventually(() => {
            const found = BRANCHES.map((name) => sent(id, name)[0])
            return found.every(Boolean) ? (found as AcceptedDispatch[]) : undefined
          }, 10_000)
          const answers = await Promise.all(
            branches.map((branch, b) => {
              const url = String(branch.clientPayload?.callback_url)
              const relay = relays[(n + b) % 2] as RelayProcess
              return fetch(url.replace('http://relay.test', relay.url), {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: '{"state":"success"}',
              })
            }),
          )
          expect(answers.map((a) => a.status)).toEqual([200, 200, 200])
          await eventually(async () => {
            const run = await getRun(relays[n % 2] as RelayProcess, id)
            return run.steps[1]?.state === 'waiting' ? true : undefined
          }, 10_000)
          const approved = await fetch(`${other(n).url}/api/runs/${id}/steps/2/approve`, {
            method: 'POST',
            headers: admin,
          })
          expect(approved.status).toBe(200)
          const [deploy] = await eventually(
            () => (sent(id, 3).length ? sent(id, 3) : undefined),
            10_000,
          )
          const url = String(deploy?.clientPayload?.callback_url)
          const done = await fetch(url.replace('http://relay.test', other(n).url), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: '{"state":"success"}',
          })
          expect(done.status).toBe(200)
        },
      )
      await eventually(() => (notices().length >= RUNS * 2 ? true : undefined), 10_000)
      // Both relays poll the outbox: a job claimed twice would have gone out twice by now.
      await new Promise((resolve) => setTimeout(resolve, 1500))

      for (const id of runs) {
        for (const name of [...BRANCHES, 3]) expect(sent(id, name), `${id} ${name}`).toHaveLength(1)
        const run = await getRun(relays[0], id)
        expect(run.state).toBe('success')
        expect(run.steps[0]).toMatchObject({
          state: 'success',
          description: 'All 3 branches succeeded',
        })
        const mine = notices().filter((n) => n.run.id === id)
        expect(mine.map((n) => n.type).sort()).toEqual([
          'hookchain.run.approval',
          'hookchain.run.success',
        ])
      }
      const all = notices()
      expect(all).toHaveLength(RUNS * 2)
      expect(new Set(all.map((n) => n.id)).size).toBe(RUNS * 2)
      // Both relays took part in sending the branches.
      const branchesSentBy = (relay: RelayProcess) =>
        logLines(relay).filter((line) => /^step 1\.\d dispatched/.test(String(line.msg))).length
      expect(branchesSentBy(relays[0])).toBeGreaterThan(0)
      expect(branchesSentBy(relays[1])).toBeGreaterThan(0)
      expect(branchesSentBy(relays[0]) + branchesSentBy(relays[1])).toBe(RUNS * BRANCHES.length)
    } finally {
      await Promise.all(relays.map(stop))
    }
  }, 60_000)
})
