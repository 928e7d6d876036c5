import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { RunJson } from '../../../src/relay/http/representation.js'
import { type Relay, startRelay } from '../../../src/relay/main.js'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { eventually, listedRegistriesOnly, SECRETS, testSettings } from '../relay-harness.js'
import { dropSchema, newSchemaName, schemaUrl } from '../store/postgres-factory.js'

// Long polls across two relays on one PostgreSQL database: a change committed by one relay
// answers a poll held by the other within about a second, and held polls tie up no connection.

const chain: Chain = {
  name: 'release',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  steps: [
    { kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}
/** More than a relay's pool of PostgreSQL connections (pg's default, 10). */
const HELD = 25

let github: GitHubStandIn
let relays: Relay[] = []
const schema = newSchemaName()

beforeAll(async () => {
  github = await startGitHubStandIn()
  const settings = testSettings(github.url, { chains: [chain] })
  relays = await Promise.all(
    [0, 1].map(() =>
      startRelay({
        settings,
        databaseUrl: schemaUrl(schema),
        port: 0,
        host: '127.0.0.1',
        logger: pino({ level: 'silent' }),
        defaultMetrics: false,
        images: listedRegistriesOnly(settings),
        outbox: { pollMs: 20, retryDelay: () => 50 },
      }),
    ),
  )
}, 30_000)
afterAll(async () => {
  await Promise.all(relays.map((relay) => relay.close()))
  await github.close()
  await dropSchema(schema)
})

const [a, b] = [() => relays[0] as Relay, () => relays[1] as Relay]

async function startedRun(): Promise<{ id: string; token: string }> {
  const response = await fetch(`${a().url}/api/chains/release/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ image: `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}` }),
  })
  const { run, run_token: token } = (await response.json()) as { run: RunJson; run_token: string }
  return { id: run.id, token }
}

async function settled(relay: Relay, run: { id: string; token: string }): Promise<string> {
  return eventually(async () => {
    const answer = await fetch(`${relay.url}/api/runs/${run.id}`, {
      headers: { authorization: `Bearer ${run.token}` },
    })
    const body = (await answer.json()) as RunJson
    return body.steps[0]?.state === 'running'
      ? (answer.headers.get('etag') ?? undefined)
      : undefined
  })
}

function poll(relay: Relay, run: { id: string; token: string }, etag: string, wait: number) {
  return fetch(`${relay.url}/api/runs/${run.id}?wait=${wait}`, {
    headers: { authorization: `Bearer ${run.token}`, 'if-none-match': etag },
  })
}

describe('long polls on two relays of one PostgreSQL database', () => {
  it("answers a poll held by one relay when the other commits the run's change", async () => {
    const run = await startedRun()
    const etag = await settled(b(), run)
    const held = poll(b(), run, etag, 30)
    await new Promise((resolve) => setTimeout(resolve, 200))
    const dispatch = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === run.id),
    )
    const callback = String(dispatch.clientPayload?.callback_url).replace(a().publicUrl, a().url)
    const reported = Date.now()
    const answer = await fetch(callback, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'failure', description: '3 tests FAILED' }),
    })
    expect(answer.status).toBe(200)
    const polled = await held
    const after = Date.now() - reported
    expect(polled.status).toBe(200)
    expect(((await polled.json()) as RunJson).state).toBe('failure')
    // The other relay's commit is seen by its check, once a second.
    expect(after).toBeLessThan(2500)
  })

  it(`holds ${HELD} polls, more than its connections, and still answers everything else`, async () => {
    const run = await startedRun()
    const etag = await settled(b(), run)
    const held = Array.from({ length: HELD }, () => poll(b(), run, etag, 5))
    await new Promise((resolve) => setTimeout(resolve, 500))
    const started = Date.now()
    const list = await fetch(`${b().url}/api/runs?limit=5`, {
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(list.status).toBe(200)
    expect(Date.now() - started).toBeLessThan(1000)
    const cancelled = await fetch(`${a().url}/api/runs/${run.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}` },
    })
    expect(cancelled.status).toBe(200)
    const answers = await Promise.all(held)
    expect(answers.map((r) => r.status)).toEqual(Array(HELD).fill(200))
  })
})
