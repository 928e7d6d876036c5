import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chain } from '../../src/relay/config/settings.js'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import { type FuzzRelay, startFuzzRelay } from './fuzz-relay.js'
import { storedStateProblems } from './stored-state.js'

/*
 * Model-based: random sequences of pushes, step reports (on live, ended and stale callback URLs),
 * retries and redeliveries against a real relay, each checked against a small model of the chain
 * rules of DESIGN.md, and the stored state checked afterwards.
 */

/** Tags starting with `v` start the three-step release chain, `w` the webhook chain, `x` nothing. */
function chains(webhookUrl: string): Chain[] {
  return [
    {
      name: 'release',
      match: { repository: 'svendowideit/testhook', tags: ['v*'] },
      stepTimeoutMs: 600_000,
      onFailure: [],
      notify: [],
      steps: [
        { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
        { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
        { kind: 'dispatch', repository: 'acme/announce', eventType: 'announce' },
      ],
    },
    {
      name: 'hook',
      match: { repository: 'svendowideit/testhook', tags: ['w*'] },
      stepTimeoutMs: 600_000,
      onFailure: [],
      notify: [],
      steps: [
        { kind: 'webhook', url: webhookUrl, secret: null },
        { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
      ],
    },
  ]
}

type StepModel = 'queued' | 'active' | 'pending' | 'success' | 'failure' | 'error' | 'skipped'
type Final = 'success' | 'failure' | 'error'
type Reported = 'pending' | Final

interface RunModel {
  id: string
  eventId: string
  state: 'running' | Final
  steps: { state: StepModel; generation: number }[]
  /** Callback paths handed out, with the step and generation each reports for. */
  tokens: { path: string; step: number; generation: number }[]
  registry: string | null
}

interface Model {
  nonce: string
  runs: RunModel[]
  /** Run ids of each body pushed, to expect duplicates. */
  pushed: Map<string, { eventId: string; runs: string[] }>
  events: { id: string; matched: boolean }[]
}

let fuzz: FuzzRelay
let sequence = 0

beforeAll(async () => {
  fuzz = await startFuzzRelay(chains)
})
afterAll(async () => {
  await fuzz?.close()
})

const isFinal = (state: string): state is Final =>
  state === 'success' || state === 'failure' || state === 'error'

/** Callback URLs delivered for one step of a run, by GitHub dispatch or webhook, in order. */
function deliveredCallbacks(runId: string, step: number): string[] {
  const viaGitHub = fuzz.github.dispatches
    .filter((d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step)
    .map((d) => ({ at: d.receivedAt.getTime(), url: String(d.clientPayload?.callback_url) }))
  const viaWebhook = fuzz.receiver.requests
    .map((r) => ({
      r,
      body: r.body as { callback_url?: string; hookchain?: { run_id?: string; step?: number } },
    }))
    .filter(({ body }) => body?.hookchain?.run_id === runId && body.hookchain.step === step)
    .map(({ r, body }) => ({ at: r.receivedAt.getTime(), url: String(body.callback_url) }))
  return [...viaGitHub, ...viaWebhook]
    .sort((a, b) => a.at - b.at)
    .map((d) => new URL(d.url).pathname)
}

/** Starts step `index` (0-based) in the model and waits for the relay to deliver it. */
async function start(run: RunModel, index: number): Promise<void> {
  const step = run.steps[index]
  if (!step) throw new Error(`run ${run.id} has no step ${index + 1}`)
  step.state = 'active'
  const starts = run.tokens.filter((t) => t.step === index + 1).length + 1
  const urls = await eventually(() => {
    const found = deliveredCallbacks(run.id, index + 1)
    return found.length >= starts ? found : undefined
  }, 5000)
  expect(urls, `step ${index + 1} of run ${run.id} delivered once per start`).toHaveLength(starts)
  run.tokens.push({ path: urls.at(-1) as string, step: index + 1, generation: step.generation })
}

/** The relay's view of a run, in the model's terms. */
async function expectAsModelled(run: RunModel): Promise<void> {
  const real = await fuzz.relay.api<{ state: string; steps: { state: string }[] }>(
    `/api/runs/${run.id}`,
  )
  const steps = real.steps.map((s) =>
    s.state === 'dispatching' || s.state === 'running' ? 'active' : s.state,
  )
  expect({ state: real.state, steps }, `run ${run.id}`).toEqual({
    state: run.state,
    steps: run.steps.map((s) => s.state),
  })
}

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${fuzz.relay.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

const admin = { authorization: `Bearer ${SECRETS.admin}` }

function newRun(id: string, eventId: string, tag: string, registry: string | null): RunModel {
  const count = tag.startsWith('v') ? 3 : 2
  return {
    id,
    eventId,
    state: 'running',
    steps: Array.from({ length: count }, () => ({ state: 'queued' as StepModel, generation: 1 })),
    tokens: [],
    registry,
  }
}

class Push implements fc.AsyncCommand<Model, FuzzRelay> {
  constructor(
    readonly tag: string,
    readonly registry: boolean,
  ) {}
  check = () => true
  async run(m: Model): Promise<void> {
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.push_data.tag = this.tag
    body.push_data.pusher = m.nonce
    const registry = this.registry ? `${fuzz.receiver.url}/registry/${m.nonce}/${this.tag}` : null
    body.callback_url = registry ?? undefined
    const text = JSON.stringify(body)
    const response = await post(`/hooks/dockerhub/${SECRETS.dockerhub}`, text)
    expect(response.status).toBe(202)
    const answer = (await response.json()) as {
      event_id: string
      duplicate: boolean
      runs: string[]
    }
    const before = m.pushed.get(text)
    if (before) {
      expect(answer).toMatchObject({ duplicate: true, event_id: before.eventId, runs: before.runs })
      return
    }
    expect(answer.duplicate).toBe(false)
    const matched = !this.tag.startsWith('x')
    expect(answer.runs).toHaveLength(matched ? 1 : 0)
    m.pushed.set(text, { eventId: answer.event_id, runs: answer.runs })
    m.events.push({ id: answer.event_id, matched })
    for (const id of answer.runs) {
      const run = newRun(id, answer.event_id, this.tag, registry)
      m.runs.push(run)
      await start(run, 0)
      await expectAsModelled(run)
    }
  }
  toString = () => `push ${this.tag}${this.registry ? ' with a registry callback' : ''}`
}

/** One of the callback URLs handed out for one of the runs, as the picks choose them. */
function pickToken(m: Model, runPick: number, tokenPick: number) {
  const run = m.runs[runPick % m.runs.length] as RunModel
  return { run, token: run.tokens[tokenPick % run.tokens.length] }
}

class Report implements fc.AsyncCommand<Model, FuzzRelay> {
  constructor(
    readonly runPick: number,
    readonly tokenPick: number,
    readonly state: Reported,
  ) {}
  check = (m: Readonly<Model>) => m.runs.length > 0
  async run(m: Model): Promise<void> {
    const { run, token } = pickToken(m, this.runPick, this.tokenPick)
    if (!token) return
    const step = run.steps[token.step - 1] as RunModel['steps'][number]
    const response = await post(token.path, {
      state: this.state,
      description: `fuzz ${this.state}`,
    })
    const expected = token.generation !== step.generation ? 404 : isFinal(step.state) ? 409 : 200
    expect(response.status, `${this} on step ${token.step}: ${await response.clone().text()}`).toBe(
      expected,
    )
    await response.arrayBuffer()
    if (expected === 200) {
      if (this.state === 'pending') step.state = 'pending'
      else if (this.state !== 'success') {
        step.state = this.state
        run.state = this.state
        // The steps a stopped run never reached are skipped.
        for (const later of run.steps.slice(token.step)) later.state = 'skipped'
      } else {
        step.state = 'success'
        if (token.step === run.steps.length) run.state = 'success'
        else await start(run, token.step)
      }
    }
    await expectAsModelled(run)
  }
  toString = () => `report ${this.state} (run ${this.runPick}, url ${this.tokenPick})`
}

class BadReport implements fc.AsyncCommand<Model, FuzzRelay> {
  constructor(
    readonly runPick: number,
    readonly tokenPick: number,
    readonly body: string,
  ) {}
  check = (m: Readonly<Model>) => m.runs.length > 0
  async run(m: Model): Promise<void> {
    const { run, token } = pickToken(m, this.runPick, this.tokenPick)
    if (!token) return
    const response = await post(token.path, this.body)
    // A token of an earlier try died when its step was sent again: it is refused before its body is read.
    const step = run.steps[token.step - 1]
    const stale = step !== undefined && token.generation !== step.generation
    expect(stale ? [404] : [400, 422]).toContain(response.status)
    await response.arrayBuffer()
    await expectAsModelled(run)
  }
  toString = () => `bad report ${JSON.stringify(this.body).slice(0, 60)}`
}

class Retry implements fc.AsyncCommand<Model, FuzzRelay> {
  constructor(readonly runPick: number) {}
  check = (m: Readonly<Model>) => m.runs.length > 0
  async run(m: Model): Promise<void> {
    const run = m.runs[this.runPick % m.runs.length] as RunModel
    const response = await post(`/api/runs/${run.id}/retry`, '', admin)
    const retryable = run.state === 'failure' || run.state === 'error'
    expect(response.status, await response.clone().text()).toBe(retryable ? 202 : 409)
    await response.arrayBuffer()
    if (retryable) {
      const from = run.steps.findIndex((s) => s.state !== 'success')
      for (const step of run.steps.slice(from)) {
        step.state = 'queued'
        step.generation += 1
      }
      run.state = 'running'
      await start(run, from)
    }
    await expectAsModelled(run)
  }
  toString = () => `retry run ${this.runPick}`
}

class Redeliver implements fc.AsyncCommand<Model, FuzzRelay> {
  constructor(readonly eventPick: number) {}
  check = (m: Readonly<Model>) => m.events.length > 0
  async run(m: Model): Promise<void> {
    const event = m.events[this.eventPick % m.events.length] as Model['events'][number]
    const response = await post(`/api/events/${event.id}/redeliver`, '', admin)
    expect(response.status, await response.clone().text()).toBe(event.matched ? 202 : 409)
    if (!event.matched) return
    const { runs } = (await response.json()) as { runs: string[] }
    expect(runs).toHaveLength(1)
    const first = m.runs.find((r) => r.eventId === event.id) as RunModel
    // A repeated delivery of the event's body now answers these runs too.
    for (const pushed of m.pushed.values())
      if (pushed.eventId === event.id) pushed.runs.push(...runs)
    for (const id of runs) {
      const run = newRun(id, event.id, first.steps.length === 3 ? 'v' : 'w', first.registry)
      m.runs.push(run)
      await start(run, 0)
      await expectAsModelled(run)
    }
  }
  toString = () => `redeliver event ${this.eventPick}`
}

const commands = [
  fc
    .tuple(fc.constantFrom('v', 'v', 'w', 'x'), fc.nat({ max: 5 }), fc.boolean())
    .map(([kind, n, registry]) => new Push(`${kind}${n}`, registry)),
  // Reports twice as often as the rest: they drive the runs.
  fc
    .tuple(
      fc.nat(),
      fc.nat(),
      fc.constantFrom<Reported>('success', 'success', 'success', 'pending', 'failure', 'error'),
    )
    .map(([run, token, state]) => new Report(run, token, state)),
  fc
    .tuple(
      fc.nat(),
      fc.nat(),
      fc.constantFrom<Reported>('success', 'success', 'success', 'pending', 'failure', 'error'),
    )
    .map(([run, token, state]) => new Report(run, token, state)),
  fc
    .tuple(
      fc.nat(),
      fc.nat(),
      fc.oneof(
        fc.constantFrom('{"state":"done"}', '{}', '[]', 'null', '{"state":"success"', ''),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      ),
    )
    .map(([run, token, body]) => new BadReport(run, token, body)),
  fc.nat().map((run) => new Retry(run)),
  fc.nat().map((event) => new Redeliver(event)),
]

describe('random sequences of pushes, reports, retries and redeliveries', () => {
  it('behave as the chain rules say, step by step', async () => {
    const ended: RunModel[] = []
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40, size: 'max' }), async (cmds) => {
        sequence += 1
        const model: Model = { nonce: `fuzz-${sequence}`, runs: [], pushed: new Map(), events: [] }
        await fc.asyncModelRun(() => ({ model, real: fuzz }), cmds)
        ended.push(...model.runs.filter((r) => r.registry && r.state !== 'running'))
      }),
      { numRuns: 100, interruptAfterTimeLimit: 75_000 },
    )

    // Every run that ended with a registry callback_url told the registry how it ended.
    for (const run of ended) {
      const path = new URL(run.registry as string).pathname
      const told = await eventually(() => {
        const last = fuzz.receiver.requests
          .filter((r) => r.path === path)
          .map((r) => r.body as { state?: string; target_url?: string })
          .findLast((body) => body.target_url?.endsWith(`/runs/${run.id}`))
        return last?.state === run.state ? last : undefined
      })
      expect(told.state).toBe(run.state)
    }
  })

  it('leave the stored state consistent', async () => {
    const problems = await eventually(() => {
      const found = storedStateProblems(fuzz.relay.databaseFile, { settled: true })
      return found.length === 0 ? found : undefined
    }, 5000).catch(() => storedStateProblems(fuzz.relay.databaseFile, { settled: true }))
    expect(problems).toEqual([])
  })
})
