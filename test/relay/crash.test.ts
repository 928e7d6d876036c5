import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunJson } from '../../src/relay/http/representation.js'
import { IN_FLIGHT } from '../../src/relay/model/attempt.js'
import {
  type AcceptedDispatch,
  type GitHubStandIn,
  type RecordedRequest,
  startGitHubStandIn,
} from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import { eventually, fixture, SECRETS } from './relay-harness.js'
import {
  logLines,
  type RelayProcess,
  spawnKillableRelay,
  writeRelayConfig,
} from './relay-process.js'

const EVENTS = 150
/**
 * The first relay of the burst writes to GitHub every 500 ms: half the burst is acknowledged in
 * well under a second, and would need 37 s to go out at that pace, so when that relay is killed
 * most acknowledged runs are still waiting in the outbox, whatever the machine.
 */
const FIRST_PACE = 120
/**
 * Events the first relay gets, and dispatches, before the burst: runs it surely sent, which the
 * restarted relay must not send again.
 */
const WARM_UP = 3
/** The step timeout of the chain that times out while no relay runs. */
const SHORT_TIMEOUT = '3s'

/** Branches of the parallel group whose fan-out a kill interrupts. */
const BRANCHES = 6

let github: GitHubStandIn
let notified: HttpReceiver
let dir: string

beforeAll(async () => {
  github = await startGitHubStandIn()
  notified = await startHttpReceiver()
  dir = mkdtempSync(join(tmpdir(), 'hookchain-crash-'))
  const oneStep = [{ repository: 'acme/integration-tests', eventType: 'image-pushed' }]
  const twoSteps = [...oneStep, { repository: 'acme/deploy', eventType: 'deploy' }]
  const config = (file: string, extra: Partial<Parameters<typeof writeRelayConfig>[1]>) =>
    writeRelayConfig(join(dir, file), {
      githubUrl: github.url,
      stepTimeout: '10m',
      dispatches: oneStep,
      ...extra,
    })
  config('paced.yml', { writesPerMinute: FIRST_PACE })
  config('unpaced.yml', {})
  config('two-steps.yml', { dispatches: twoSteps })
  config('short-timeout.yml', { dispatches: twoSteps, stepTimeout: SHORT_TIMEOUT })
  // A group of six branches, then a deploy; one webhook told of each run's success.
  const branches = Array.from(
    { length: BRANCHES },
    (_, b) => `            - dispatch: { repository: acme/branch-${b + 1}, event_type: test }\n`,
  ).join('')
  const fanOut = `    steps:
      - parallel:
          steps:
${branches}      - dispatch: { repository: acme/deploy, event_type: deploy }
    notify:
      - webhook: { url: "${notified.url}/hookchain" }
        on: [success]
`
  config('fan-out-paced.yml', { writesPerMinute: FIRST_PACE, chain: fanOut })
  config('fan-out.yml', { chain: fanOut })
  config('approval.yml', {
    chain: `    steps:
      - approval: { timeout: 1h }
      - dispatch: { repository: acme/deploy, event_type: deploy }
`,
  })
})

afterAll(async () => {
  await notified.close()
  await github.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A relay on `database` (a SQLite file in the test folder), leases of 2 s. */
function start(config: string, database: string): Promise<RelayProcess> {
  return spawnKillableRelay(join(dir, config), `sqlite:${join(dir, database)}`)
}

async function kill(relay: RelayProcess) {
  relay.child.kill('SIGKILL')
  expect(await relay.exited).toBeNull()
}

async function stop(relay: RelayProcess) {
  relay.child.kill('SIGTERM')
  await relay.exited
}

const admin = { authorization: `Bearer ${SECRETS.admin}` }

async function getRun(relay: RelayProcess, id: string): Promise<RunJson> {
  const response = await fetch(`${relay.url}/api/runs/${id}`, { headers: admin })
  expect(response.status).toBe(200)
  return (await response.json()) as RunJson
}

/** Waits until `relay` shows the run as `ready` says, and returns it. */
function runOnce(relay: RelayProcess, id: string, ready: (run: RunJson) => boolean) {
  return eventually(async () => {
    const run = await getRun(relay, id)
    return ready(run) ? run : undefined
  }, 10_000)
}

/** POSTs a Docker Hub push of `tag`; what the relay acknowledged (202), else null. */
async function sendPush(
  relay: RelayProcess,
  tag: string,
): Promise<{ event_id: string; runs: string[] } | null> {
  const body = JSON.parse(fixture('dockerhub-push.json'))
  body.push_data.tag = tag
  const response = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (response.status !== 202) return null
  return (await response.json()) as { event_id: string; runs: string[] }
}

/** Reports a step's result to `relay`, at the callback URL its dispatch carried. */
function report(relay: RelayProcess, dispatch: AcceptedDispatch, body: unknown) {
  const url = String(dispatch.clientPayload?.callback_url).replace('http://relay.test', relay.url)
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

function runOf(dispatch: AcceptedDispatch): string {
  return String(dispatch.clientPayload?.run_id)
}

/** The dispatches of step `step` (a number, or a branch's name: `1.2`) of run `id` that GitHub accepted, in order. */
function accepted(id: string, step: number | string): AcceptedDispatch[] {
  return github.dispatches.filter((d) => runOf(d) === id && d.clientPayload?.step === step)
}

/** Every dispatch request of step `step` of run `id` GitHub received, answered or not. */
function received(id: string, step: number): RecordedRequest[] {
  return github.requests.filter((r) => {
    const payload = (r.body as { client_payload?: { run_id?: unknown; step?: unknown } })
      ?.client_payload
    return r.path.endsWith('/dispatches') && payload?.run_id === id && payload.step === step
  })
}

/** The runs whose step `step` this relay's log says it dispatched. */
function dispatchedBy(relay: RelayProcess, step: number): Set<string> {
  return new Set(
    logLines(relay)
      .filter((line) => line.step === step && /^step \d+ dispatched/.test(String(line.msg)))
      .map((line) => String(line.run)),
  )
}

/** The runs this relay's log says it timed out. */
function timedOutBy(relay: RelayProcess): string[] {
  return logLines(relay)
    .filter((line) => /timed out$/.test(String(line.msg)))
    .map((line) => String(line.run))
}

describe('a relay killed in the middle of a burst', () => {
  it('loses no acknowledged event, and the restarted relay dispatches the runs left undispatched', async () => {
    const first = await start('paced.yml', 'burst.db')
    const acknowledged = new Map<string, string[]>()
    let sent = 0
    let killed = false
    try {
      // A few runs the first relay dispatches before the burst: they must not go out again.
      for (let n = 0; n < WARM_UP; n++) {
        const answer = await sendPush(first, `w${n}`)
        expect(answer?.runs).toHaveLength(1)
        if (answer) acknowledged.set(answer.event_id, answer.runs)
      }
      const warmUp = [...acknowledged.values()].flat()
      await eventually(() => {
        const dispatched = dispatchedBy(first, 1)
        return warmUp.every((id) => dispatched.has(id)) ? true : undefined
      })

      async function sender() {
        while (sent < EVENTS) {
          const n = sent++
          const answer = await sendPush(first, `v${n}`).catch(() => null)
          // null: refused, or the relay died under this request: it was never acknowledged.
          if (answer) acknowledged.set(answer.event_id, answer.runs)
          if (!killed && acknowledged.size >= WARM_UP + EVENTS / 2) {
            killed = true
            first.child.kill('SIGKILL')
          }
        }
      }
      await Promise.all(Array.from({ length: 8 }, sender))
    } finally {
      if (!killed) first.child.kill('SIGKILL')
    }
    expect(await first.exited).toBeNull()
    // What the stand-in has still on its way from the dead relay is read by now.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const atKill = github.dispatches.length
    expect(acknowledged.size).toBeGreaterThanOrEqual(WARM_UP + EVENTS / 2)
    expect(acknowledged.size).toBeLessThan(WARM_UP + EVENTS)

    const runIds = [...acknowledged.values()].flat()
    expect(runIds).toHaveLength(acknowledged.size)
    const dispatchedBeforeKill = new Set(github.dispatches.slice(0, atKill).map(runOf))
    const left = runIds.filter((id) => !dispatchedBeforeKill.has(id))
    // The restart has something to resume: paced, the first relay could not send them all.
    expect(left.length).toBeGreaterThan(0)

    // Unpaced now, so that the backlog goes out within the test.
    const second = await start('unpaced.yml', 'burst.db')
    try {
      await eventually(() => {
        const dispatched = new Set(github.dispatches.slice(atKill).map(runOf))
        return left.every((id) => dispatched.has(id)) ? true : undefined
      }, 15_000)
      // Sent by the restarted relay, which records each as dispatched.
      await eventually(() => {
        const bySecond = dispatchedBy(second, 1)
        return left.every((id) => bySecond.has(id)) ? true : undefined
      })

      for (const [eventId, runs] of acknowledged) {
        const event = await fetch(`${second.url}/api/events/${eventId}`, { headers: admin })
        expect(event.status).toBe(200)
        expect(((await event.json()) as { runs: string[] }).runs).toEqual(runs)
      }
      // Past another lease: a job claimed twice would have been sent again by now.
      await new Promise((resolve) => setTimeout(resolve, 2500))
      const perRun = new Map<string, number>()
      for (const d of github.dispatches) perRun.set(runOf(d), (perRun.get(runOf(d)) ?? 0) + 1)
      // Only a dispatch in flight at the kill (sent, its answer not yet recorded) may go out again:
      // paced at one write every 500 ms, that can only be the last one the first relay sent, and
      // not the warm-up runs before it.
      const twice = [...perRun].filter(([, n]) => n > 1).map(([id]) => id)
      const lastBeforeKill = runOf(github.dispatches[atKill - 1] as AcceptedDispatch)
      expect(twice.filter((id) => id !== lastBeforeKill)).toEqual([])
      for (const id of twice) expect(perRun.get(id)).toBe(2)
      for (const id of runIds) {
        const run = await getRun(second, id)
        expect(run).toMatchObject({ id, state: 'running' })
        expect(run.steps[0]?.state).toBe('running')
      }
    } finally {
      await stop(second)
    }
  }, 45_000)
})

describe('a relay killed in the middle of a chain', () => {
  it('dispatches step 2 again after a restart when it died sending it, and the run goes on', async () => {
    const first = await start('two-steps.yml', 'chain.db')
    let runId = ''
    let stepOne: AcceptedDispatch | undefined
    try {
      const push = await sendPush(first, 'v-chain')
      expect(push?.runs).toHaveLength(1)
      runId = push?.runs[0] as string
      stepOne = await eventually(() => accepted(runId, 1)[0])
      // GitHub takes the next dispatch, step 2, and never answers it.
      github.hang(1)
      const answer = await report(first, stepOne, {
        state: 'success',
        description: '387 tests PASSED',
      })
      expect(answer.status).toBe(200)
      await eventually(() => (received(runId, 2).length > 0 ? true : undefined))
    } finally {
      await kill(first)
      github.recover()
    }
    // Step 2 was sent, but the dead relay never learnt that GitHub took it.
    expect(received(runId, 2)).toHaveLength(1)
    expect(received(runId, 2)[0]?.status).toBeNull()
    expect(accepted(runId, 2)).toEqual([])
    expect(dispatchedBy(first, 2).has(runId)).toBe(false)

    const second = await start('two-steps.yml', 'chain.db')
    try {
      // Once the dead relay's lease is over, the restarted one sends step 2 again.
      const [stepTwo] = await eventually(() => {
        const list = accepted(runId, 2)
        return list.length > 0 ? list : undefined
      }, 10_000)
      expect(stepTwo?.repository).toBe('acme/deploy')
      expect(stepTwo?.eventType).toBe('deploy')
      await eventually(() => (dispatchedBy(second, 2).has(runId) ? true : undefined))
      const running = await runOnce(second, runId, (run) => run.steps[1]?.state === 'running')
      expect(running.state).toBe('running')
      expect(running.steps[0]).toMatchObject({ state: 'success', description: '387 tests PASSED' })
      // Both sends are in the history: the one lost with the relay, and the one GitHub took.
      expect(running.steps[1]?.attempts.map((a) => ({ status: a.status, error: a.error }))).toEqual(
        [
          { status: null, error: IN_FLIGHT },
          { status: 204, error: null },
        ],
      )
      // Step 1 was not sent again: its callback, accepted before the kill, was kept.
      expect(accepted(runId, 1)).toHaveLength(1)

      const last = await report(second, stepTwo as AcceptedDispatch, {
        state: 'success',
        description: 'deployed',
      })
      expect(last.status).toBe(200)
      const ended = await getRun(second, runId)
      expect(ended.state).toBe('success')
      expect(ended.steps.map((s) => [s.state, s.description])).toEqual([
        ['success', '387 tests PASSED'],
        ['success', 'deployed'],
      ])
      // At least once: never more than the one lost and the one taken.
      expect(received(runId, 2)).toHaveLength(2)
      expect(accepted(runId, 2)).toHaveLength(1)
    } finally {
      await stop(second)
    }
  }, 30_000)

  it('ends a step whose timeout passed while no relay ran as error once one is back', async () => {
    const first = await start('short-timeout.yml', 'timeout.db')
    let runId = ''
    let stepOne: AcceptedDispatch | undefined
    let before: RunJson | undefined
    try {
      const push = await sendPush(first, 'v-timeout')
      expect(push?.runs).toHaveLength(1)
      runId = push?.runs[0] as string
      stepOne = await eventually(() => accepted(runId, 1)[0])
      before = await runOnce(first, runId, (run) => run.steps[0]?.state !== 'dispatching')
    } finally {
      await kill(first)
    }
    expect(before?.state).toBe('running')
    expect(before?.steps[0]?.state).toBe('running')
    // The first relay died before the deadline: it never timed the step out.
    expect(timedOutBy(first)).toEqual([])

    // The deadline passes while no relay runs.
    const deadline = Date.parse(String(before?.steps[0]?.deadline))
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, deadline - Date.now()) + 200))

    const second = await start('short-timeout.yml', 'timeout.db')
    try {
      const ended = await runOnce(second, runId, (run) => run.state !== 'running')
      expect(ended.state).toBe('error')
      expect(ended.steps[0]).toMatchObject({
        state: 'error',
        description: `No callback within ${SHORT_TIMEOUT}`,
      })
      expect(ended.steps[1]?.state).toBe('skipped')
      expect(timedOutBy(second)).toEqual([runId])
      // The step is over: its late callback is refused, and step 2 is never dispatched.
      expect((await report(second, stepOne as AcceptedDispatch, { state: 'success' })).status).toBe(
        409,
      )
      expect(received(runId, 2)).toEqual([])
    } finally {
      await stop(second)
    }
  }, 30_000)
})

describe("a relay killed in the middle of a parallel group's fan-out", () => {
  const names = Array.from({ length: BRANCHES }, (_, b) => `1.${b + 1}`)

  it('sends every branch once after a restart (twice only the one in flight), and ends the group once', async () => {
    // Paced at one write every 500 ms, the first relay is still fanning out when it is killed.
    const first = await start('fan-out-paced.yml', 'fan-out.db')
    let runId = ''
    try {
      const push = await sendPush(first, 'v-fan-out')
      runId = push?.runs[0] as string
      await eventually(() =>
        names.filter((n) => accepted(runId, n).length).length >= 2 ? true : undefined,
      )
    } finally {
      await kill(first)
    }
    // What the stand-in has still on its way from the dead relay is read by now.
    await new Promise((resolve) => setTimeout(resolve, 100))
    const sentBefore = github.dispatches.filter((d) => runOf(d) === runId)
    expect(sentBefore.length).toBeGreaterThanOrEqual(2)
    expect(sentBefore.length).toBeLessThan(BRANCHES)

    const second = await start('fan-out.yml', 'fan-out.db')
    try {
      await eventually(
        () => (names.every((n) => accepted(runId, n).length > 0) ? true : undefined),
        10_000,
      )
      // Past another lease: a branch claimed twice would have been sent again by now.
      await new Promise((resolve) => setTimeout(resolve, 2500))
      const twice = names.filter((n) => accepted(runId, n).length > 1)
      // Only a branch in flight as the first relay died may go out again: the last it sent.
      expect(twice.length).toBeLessThanOrEqual(1)
      for (const name of twice) {
        expect(sentBefore.at(-1)?.clientPayload?.step).toBe(name)
        expect(accepted(runId, name)).toHaveLength(2)
      }
      for (const [b, name] of names.entries()) {
        expect(accepted(runId, name)[0]?.repository).toBe(`acme/branch-${b + 1}`)
      }
      const running = await runOnce(second, runId, (run) =>
        (run.steps[0]?.branches ?? []).every((b) => b.state === 'running'),
      )
      expect(running.steps.map((s) => s.state)).toEqual(['running', 'queued'])

      // Every branch reports, through the token of its latest dispatch: the group ends once.
      for (const name of names) {
        const answer = await report(second, accepted(runId, name).at(-1) as AcceptedDispatch, {
          state: 'success',
        })
        expect(answer.status).toBe(200)
      }
      const deploy = await eventually(() => accepted(runId, 2)[0], 10_000)
      const ended = await getRun(second, runId)
      expect(ended.steps[0]).toMatchObject({
        state: 'success',
        description: `All ${BRANCHES} branches succeeded`,
      })
      expect((await report(second, deploy, { state: 'success' })).status).toBe(200)
      await eventually(() =>
        notified.requests.some((r) => (r.body as { run?: { id?: string } }).run?.id === runId)
          ? true
          : undefined,
      )
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect(accepted(runId, 2)).toHaveLength(1)
      const told = notified.requests.filter(
        (r) => (r.body as { run?: { id?: string } }).run?.id === runId,
      )
      expect(told.map((r) => (r.body as { type: string }).type)).toEqual(['hookchain.run.success'])
      expect((await getRun(second, runId)).state).toBe('success')
    } finally {
      await stop(second)
    }
  }, 45_000)
})

describe('a relay killed between an approval and the dispatch it lets go', () => {
  it('keeps the decision, sends the next step once more after a restart, and the run goes on', async () => {
    const first = await start('approval.yml', 'approval.db')
    let runId = ''
    try {
      const push = await sendPush(first, 'v-approval')
      runId = push?.runs[0] as string
      await runOnce(first, runId, (run) => run.steps[0]?.state === 'waiting')
      expect(received(runId, 2)).toEqual([])
      // GitHub takes the dispatch the approval lets go, and never answers it.
      github.hang(1)
      const approved = await fetch(`${first.url}/api/runs/${runId}/steps/1/approve`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'ship it' }),
      })
      expect(approved.status).toBe(200)
      await eventually(() => (received(runId, 2).length > 0 ? true : undefined))
    } finally {
      await kill(first)
      github.recover()
    }
    expect(accepted(runId, 2)).toEqual([])

    const second = await start('approval.yml', 'approval.db')
    try {
      const [deploy] = await eventually(() => {
        const list = accepted(runId, 2)
        return list.length > 0 ? list : undefined
      }, 10_000)
      const running = await runOnce(second, runId, (run) => run.steps[1]?.state === 'running')
      // The decision was committed with the approval, before the dispatch: it survived the kill.
      expect(running.steps[0]).toMatchObject({
        state: 'success',
        decision: { approved: true, comment: 'ship it' },
      })
      expect((await report(second, deploy as AcceptedDispatch, { state: 'success' })).status).toBe(
        200,
      )
      expect((await getRun(second, runId)).state).toBe('success')
      // The one lost with the relay, and the one GitHub took: never more.
      expect(received(runId, 2)).toHaveLength(2)
      expect(accepted(runId, 2)).toHaveLength(1)
    } finally {
      await stop(second)
    }
  }, 30_000)
})
