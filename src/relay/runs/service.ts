import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import type { Callback } from '../../shared/callback.js'
import type { Chain } from '../config/settings.js'
import { ID_PATTERN, newId } from '../ids.js'
import type { Metrics } from '../metrics.js'
import { IN_FLIGHT } from '../model/attempt.js'
import type { CallbackRecord } from '../model/callback.js'
import { type EventRecord, WORKFLOW_SOURCE } from '../model/event.js'
import {
  everyStep,
  type Image,
  imageOf,
  isFinal,
  type Run,
  type RunAttempt,
  type RunNote,
  type RunOrigin,
  type SourceCommit,
  type Step,
  type StepRef,
  shownTarget,
  stepAt,
  stepName,
  stepNumber,
} from '../model/run.js'
import type { PushEvent } from '../sources/types.js'
import type { RunStore, TokenRecord } from '../store/store.js'
import { lookupHash } from './callback-tokens.js'
import { commitStatusJobs } from './commit-status.js'
import { jobsFor, type SilentRegistry, startRuns } from './effects.js'
import { advance, type RunInput, type Transition } from './engine.js'
import { type Delivery, takeIn, takeInAgain } from './intake.js'
import { type RefusalReason, RunRefused } from './refusal.js'
import { newRunToken, runTokenHash } from './run-tokens.js'
import { stepsOf } from './steps.js'
import { takeInTest } from './test-event.js'

export interface RunServiceDeps {
  store: RunStore
  /** The chains of the config the relay runs with. */
  chains: () => readonly Chain[]
  /** Most runs one delivery starts (`limits.runs_per_delivery`); unbounded by default. */
  runsPerDelivery?: number
  now: () => Date
  logger: Logger
  metrics?: Metrics
  /** New outbox jobs were committed: the outbox should look now rather than at its next poll. */
  onWork: () => void
  /** A new version of a run was committed (long polls wait for this). */
  onRunChanged?: (run: Run) => void
  /** Registries known not to answer now: their new runs are not held up to read the image. */
  silentRegistry?: SilentRegistry
}

/** A run started through the API, by a workflow with its OIDC token or by the admin. */
export interface StartRequest {
  chain: Chain
  image: Pick<Image, 'registry' | 'repository' | 'tag' | 'digest'>
  /** The commit the image was built from, when the request says it. */
  sourceCommit: SourceCommit | null
  origin: RunOrigin
  /** The same request sent again (a retry after a lost answer) starts nothing new. */
  requestId: string
  /** What the history keeps of the request: its body. */
  payload: string
  receivedAt: Date
}

/** A transition that was saved, with the steps it ended. */
export type Applied =
  | (Extract<Transition, { ok: true }> & { ended: Step[] })
  | Extract<Transition, { ok: false }>
  | { ok: false; reason: 'not-found'; message: string }

/** A delivery the relay authenticated but could not read: kept, so the history shows why nothing ran. */
export interface Rejected {
  source: string
  raw: Buffer
  /** What the history keeps of it: the body, or the JSON its form carried. */
  shown: Buffer
  contentType: string | null
  receivedAt: Date
  /** Why, as the HTTP answer said it. */
  reason: string
}

/** How much of a rejected body is kept: enough to see what was wrong with it, not a flood's worth. */
export const REJECTED_PAYLOAD_BYTES = 64 * 1024

const MAX_CONFLICTS = 20
/** Refused callbacks a step's history keeps; the rest are only counted. */
export const REFUSED_CALLBACKS_KEPT = 20
const OVERDUE_BATCH = 100

/**
 * The one write path for run state. Every change (a delivery, a callback, a dispatch's outcome, a
 * timeout, a retry) goes through the pure engine, is saved over the version it was computed from,
 * and is then counted, logged and handed to the outbox here, and nowhere else.
 */
export function createRunService(deps: RunServiceDeps) {
  const { store, logger, metrics } = deps

  /** Load, compute, save; start again when another writer (a timeout, another relay) got there first. */
  async function apply(runId: string, input: RunInput, callback?: Callback): Promise<Applied> {
    for (let i = 0; i < MAX_CONFLICTS; i++) {
      const run = await store.getRun(runId)
      if (!run) return { ok: false, reason: 'not-found', message: `run ${runId} does not exist` }
      const at = deps.now()
      const transition = advance(run, input, at)
      const record: CallbackRecord | undefined =
        callback && input.type === 'callback'
          ? {
              runId,
              runAttempt: run.attempt,
              step: input.ref.index,
              phase: input.ref.phase,
              branch: input.ref.branch,
              generation: input.generation,
              receivedAt: at.toISOString(),
              body: callback,
              outcome: transition.ok ? 'accepted' : transition.reason,
            }
          : undefined
      if (!transition.ok) {
        if (record) await store.recordRefusedCallback(record, REFUSED_CALLBACKS_KEPT)
        return transition
      }
      const next = { ...transition.run, version: run.version + 1 }
      const chain = deps.chains().find((c) => c.name === run.chain)
      const jobs = [
        ...jobsFor(next, transition.effects, at, chain?.notify),
        ...commitStatusJobs(run, next, chain, at),
      ]
      const earlier = transition.newAttempt ? attemptOf(run) : undefined
      if (await store.saveTransition(next, jobs, record, earlier)) {
        const before = new Map(everyStep(run).map(({ ref, step }) => [stepName(ref), step.state]))
        const ended = everyStep(next)
          .filter(
            ({ ref, step }) =>
              isFinal(step.state) && !isFinal(before.get(stepName(ref)) ?? 'queued'),
          )
          .map(({ step }) => step)
        observeEndedSteps(ended)
        if (jobs.length) deps.onWork()
        deps.onRunChanged?.(next)
        return { ...transition, run: next, ended }
      }
    }
    throw new Error(`run ${runId} kept changing under ${MAX_CONFLICTS} attempts to update it`)
  }

  /** Records how long each step that just ended took, from its dispatch (or start) to its end. */
  function observeEndedSteps(steps: readonly Step[]): void {
    for (const step of steps) {
      const from = step.dispatchedAt ?? step.startedAt
      if (!metrics || !from || !step.finishedAt) continue
      const seconds = (Date.parse(step.finishedAt) - Date.parse(from)) / 1000
      metrics.stepDuration.observe({ kind: step.kind, state: step.state }, Math.max(0, seconds))
    }
  }

  /** Applies an input a person asked for; refused, it says why in their words. */
  async function request(run: Run, input: RunInput, reason: RefusalReason): Promise<Run> {
    const result = await apply(run.id, input)
    if (!result.ok) throw new RunRefused(reason, `${result.message}.`)
    return result.run
  }

  async function findRun(id: string): Promise<Run> {
    const run = ID_PATTERN.test(id) ? await store.getRun(id) : null
    if (!run)
      throw new RunRefused('run-not-found', `There is no run ${id}; list runs with GET /api/runs.`)
    return run
  }

  async function findEvent(id: string): Promise<EventRecord> {
    const event = ID_PATTERN.test(id) ? await store.getEvent(id) : null
    if (!event)
      throw new RunRefused(
        'event-not-found',
        `There is no event ${id}; list events with GET /api/events.`,
      )
    return event
  }

  /**
   * Why the last failed try to dispatch a step failed, as its history shows it; null if the step
   * was dispatched (its timeout is about the callback) or no try failed since it (re)started (say,
   * when the first is still in flight).
   */
  async function lastDispatchError(runId: string, ref: StepRef): Promise<string | null> {
    const run = await store.getRun(runId)
    const step = run && stepAt(run, ref)
    if (step?.state !== 'dispatching' || !step.startedAt) return null
    const since = step.startedAt
    const attempts = await store.attemptsFor([runId])
    const failed = attempts.filter(
      (a) =>
        a.step === ref.index &&
        a.phase === ref.phase &&
        a.branch === ref.branch &&
        a.startedAt >= since &&
        a.error &&
        a.error !== IN_FLIGHT,
    )
    return failed.at(-1)?.error ?? null
  }

  return {
    /** Stores a delivery with the runs it starts, in one commit; a repeated delivery starts nothing. */
    async ingest(delivery: Delivery): Promise<{ duplicate: boolean; event: EventRecord }> {
      const intake = takeIn(delivery, deps.chains(), deps.runsPerDelivery, deps.silentRegistry)
      const { duplicate, event } = await store.recordEvent(intake.event, intake.runs, intake.jobs)
      metrics?.events.inc({
        source: delivery.source,
        outcome: duplicate ? 'duplicate' : event.outcome,
      })
      logger.info(
        {
          event: event.id,
          source: delivery.source,
          delivery: event.deliveryId,
          outcome: event.outcome,
          runs: event.runIds,
          duplicate,
        },
        duplicate ? 'event %s: repeated delivery, nothing new started' : 'event %s: %s',
        event.id,
        event.reason ?? `${event.runIds.length} run(s) started`,
      )
      if (!duplicate && intake.jobs.length) deps.onWork()
      return { duplicate, event }
    },

    /** Keeps an authenticated delivery that could not be read; never throws (the answer is the problem). */
    async reject(rejected: Rejected): Promise<void> {
      const { source, shown, receivedAt } = rejected
      const kept = shown.subarray(0, REJECTED_PAYLOAD_BYTES)
      const cut =
        kept.length < shown.length
          ? ` (the first ${kept.length} of its ${shown.length} bytes are kept)`
          : ''
      const event: EventRecord = {
        id: newId(receivedAt.getTime()),
        source,
        deliveryId: `rejected:sha256:${createHash('sha256').update(rejected.raw).digest('hex')}`,
        receivedAt: receivedAt.toISOString(),
        outcome: 'rejected',
        reason: `${rejected.reason}${cut}`,
        contentType: rejected.contentType,
        payload: kept.toString('utf8'),
        pushes: [],
        runIds: [],
        duplicates: 0,
        lastDuplicateAt: null,
      }
      try {
        await store.recordEvent(event, [], [])
        metrics?.events.inc({ source, outcome: 'rejected' })
      } catch (error) {
        logger.warn({ err: error }, 'could not record a rejected delivery')
      }
      logger.info(
        { event: event.id, source, outcome: 'rejected' },
        'event %s rejected: %s',
        event.id,
        rejected.reason,
      )
    },

    /**
     * Starts a chain for an image, recorded as an event of the `workflow` source with its run.
     * A request seen before (its `requestId`) starts nothing and answers the run it started.
     */
    async start(request: StartRequest): Promise<{ run: Run; duplicate: boolean }> {
      const { chain, receivedAt } = request
      const push: PushEvent = {
        source: WORKFLOW_SOURCE,
        ...request.image,
        pusher: request.origin.kind === 'workflow' ? request.origin.actor : request.origin.by,
        pushedAt: receivedAt.toISOString(),
        callbackUrl: null,
      }
      const eventId = newId(receivedAt.getTime())
      const run: Run = {
        id: newId(receivedAt.getTime()),
        eventId,
        chain: chain.name,
        source: WORKFLOW_SOURCE,
        push,
        image: imageOf(push),
        state: 'running',
        stepTimeoutMs: chain.stepTimeoutMs,
        createdAt: receivedAt.toISOString(),
        finishedAt: null,
        version: 0,
        attempt: 1,
        ...stepsOf(chain),
        sourceCommit: request.sourceCommit,
        origin: request.origin,
        notes: [],
      }
      const started = startRuns([run], receivedAt, deps.chains(), deps.silentRegistry)
      const event: EventRecord = {
        id: eventId,
        source: WORKFLOW_SOURCE,
        deliveryId: request.requestId,
        receivedAt: receivedAt.toISOString(),
        outcome: 'started',
        reason: null,
        duplicates: 0,
        lastDuplicateAt: null,
        contentType: 'application/json',
        payload: request.payload,
        pushes: [push],
        runIds: started.runs.map((r) => r.id),
      }
      const recorded = await store.recordEvent(event, started.runs, started.jobs)
      metrics?.events.inc({
        source: WORKFLOW_SOURCE,
        outcome: recorded.duplicate ? 'duplicate' : 'started',
      })
      const runId = recorded.event.runIds[0] ?? ''
      const saved = recorded.duplicate ? await store.getRun(runId) : started.runs[0]
      if (!saved) throw new Error(`the run ${runId} of event ${recorded.event.id} vanished`)
      const by =
        request.origin.kind === 'workflow'
          ? `a workflow of ${request.origin.repository}`
          : request.origin.by
      logger.info(
        {
          run: saved.id,
          chain: chain.name,
          image: saved.image.reference,
          by,
          duplicate: recorded.duplicate,
        },
        recorded.duplicate ? 'run %s: the same start request again' : 'run %s started by %s',
        saved.id,
        by,
      )
      if (!recorded.duplicate && started.jobs.length) deps.onWork()
      return { run: saved, duplicate: recorded.duplicate }
    },

    /** A new token that reads this run, and nothing else. */
    async issueRunToken(runId: string): Promise<string> {
      const { token, hash } = newRunToken()
      await store.addRunToken(hash, runId, deps.now().toISOString())
      return token
    },

    /** The run a run token reads; null when the token is unknown (or its run was deleted). */
    async runForToken(token: string): Promise<string | null> {
      const hash = runTokenHash(token)
      return hash === null ? null : store.findRunToken(hash)
    },

    /** The new run's image was read: its first step begins. */
    async prepared(
      runId: string,
      found: { image: Image; sourceCommit: SourceCommit | null; notes: RunNote[] },
    ): Promise<Applied> {
      const result = await apply(runId, { type: 'prepared', ...found })
      if (result.ok) {
        logger.info(
          {
            run: runId,
            image: found.image.reference,
            digest: found.image.digest,
            sourceCommit: found.sourceCommit,
          },
          'run %s: image read, first step begun',
          runId,
        )
      }
      return result
    },

    /** Starts the chains that match a stored event's pushes again, with today's config. */
    async redeliver(eventId: string): Promise<Run[]> {
      const event = await findEvent(eventId)
      if (event.pushes.length === 0) {
        throw new RunRefused(
          'event-has-no-push',
          `Event ${event.id} holds no image push (${event.reason ?? event.outcome}); there is no chain to start.`,
        )
      }
      const { runs, jobs } = takeInAgain(event, deps.chains(), deps.now(), deps.silentRegistry)
      if (runs.length === 0) {
        throw new RunRefused(
          'no-chain-matches',
          `No chain in the current config matches the pushes of event ${event.id}; add or fix a chain's match first.`,
        )
      }
      await store.addRuns(event.id, runs, jobs)
      logger.info(
        { event: event.id, runs: runs.map((r) => r.id) },
        'event %s redelivered: %d run(s) started',
        event.id,
        runs.length,
      )
      deps.onWork()
      return runs
    },

    /**
     * Runs one chain for a made-up image through the real path (stored, dispatched, reported):
     * a test event from the `test` source, kept in the history as any other.
     */
    async test(chainName: string, by: string): Promise<Run> {
      const chains = deps.chains()
      const chain = chains.find((c) => c.name === chainName)
      if (!chain) {
        throw new RunRefused(
          'chain-not-found',
          `There is no chain ${chainName.slice(0, 100)} in the config; its chains are ${chains.map((c) => c.name).join(', ') || 'none'}.`,
        )
      }
      const intake = takeInTest(chain, by, deps.now(), chains)
      await store.recordEvent(intake.event, intake.runs, intake.jobs)
      metrics?.events.inc({ source: intake.event.source, outcome: intake.event.outcome })
      const [run] = intake.runs as [Run]
      logger.info(
        { event: intake.event.id, run: run.id, chain: chain.name, by },
        'test event %s sent to chain %s by %s: run %s',
        intake.event.id,
        chain.name,
        by,
        run.id,
      )
      deps.onWork()
      return run
    },

    /** Resumes a failed, errored or timed-out run from its failed step (new tokens; the old ones stay dead). */
    async retry(runId: string): Promise<Run> {
      const run = await request(await findRun(runId), { type: 'retry' }, 'run-not-retryable')
      const step = run.steps.find((s) => s.startedAt !== null && !isFinal(s.state))
      logger.info(
        { run: run.id, step: step?.index, attempt: run.attempt },
        'run %s retried from step %s (attempt %d)',
        run.id,
        String(step?.index),
        run.attempt,
      )
      return run
    },

    /** The step a callback token reports for; refused when the token is unknown or expired. */
    async tokenFor(token: string): Promise<TokenRecord> {
      const hash = lookupHash(token)
      const found = hash === null ? null : await store.findToken(hash)
      if (!found) throw unknownToken()
      return found
    },

    /** A step's report. The first final report wins; later ones are kept, and refused. */
    async callback(token: TokenRecord, callback: Callback): Promise<Run> {
      const result = await apply(
        token.runId,
        { type: 'callback', ref: token.ref, generation: token.generation, callback },
        callback,
      )
      metrics?.callbacks.inc({
        state: callback.state,
        outcome: result.ok ? 'accepted' : result.reason,
      })
      if (!result.ok) {
        if (result.reason === 'step-ended') {
          throw new RunRefused('step-ended', `${result.message}; the first final callback wins.`)
        }
        throw unknownToken()
      }
      const { run } = result
      logger.info(
        {
          run: run.id,
          chain: run.chain,
          step: stepNumber(token.ref),
          state: stepAt(run, token.ref)?.state,
          runState: run.state,
        },
        'step %s of run %s reported %s',
        stepName(token.ref),
        run.id,
        callback.state,
      )
      return run
    },

    /** The step's request went out and its receiver took it. */
    async delivered(run: Run, ref: StepRef, step: Step): Promise<void> {
      await apply(run.id, { type: 'delivered', ref, generation: step.generation })
      const target = shownTarget(step)
      logger.info(
        { run: run.id, chain: run.chain, step: stepNumber(ref), target, state: 'running' },
        'step %s dispatched to %s',
        stepName(ref),
        target,
      )
    },

    /** The step's request failed for good: the step ends as `error`, and the run or its group with it. */
    async deliveryFailed(run: Run, ref: StepRef, step: Step, error: string): Promise<void> {
      await apply(run.id, { type: 'delivery-failed', ref, generation: step.generation, error })
      logger.warn(
        {
          run: run.id,
          chain: run.chain,
          step: stepNumber(ref),
          target: shownTarget(step),
          state: 'error',
        },
        'step %s failed: %s',
        stepName(ref),
        error,
      )
    },

    /** Stops a running run: its running steps end as cancelled, the rest are skipped. */
    async cancel(runId: string, by: string): Promise<Run> {
      const run = await request(await findRun(runId), { type: 'cancel', by }, 'run-not-cancellable')
      logger.info({ run: run.id, by }, 'run %s cancelled by %s', run.id, by)
      return run
    },

    /** Approves or rejects the approval at step `index` of a run. */
    async decide(
      runId: string,
      index: number,
      decision: { approved: boolean; by: string; comment: string | null },
    ): Promise<Run> {
      const run = await findRun(runId)
      const ref: StepRef = { phase: 'main', index, branch: 0 }
      const step = stepAt(run, ref)
      if (step?.kind !== 'approval') {
        throw new RunRefused(
          'step-not-found',
          `Run ${run.id} has no approval at step ${index}; its approvals are at ${
            run.steps
              .filter((s) => s.kind === 'approval')
              .map((s) => s.index)
              .join(', ') || 'none'
          }.`,
        )
      }
      const next = await request(run, { type: 'decide', ref, ...decision }, 'approval-not-waiting')
      logger.info(
        { run: run.id, step: index, approved: decision.approved, by: decision.by },
        'step %d of run %s %s by %s',
        index,
        run.id,
        decision.approved ? 'approved' : 'rejected',
        decision.by,
      )
      return next
    },

    /** Ends every step past its deadline; the version check makes each timeout fire once. */
    async sweepTimeouts(): Promise<number> {
      const overdue = await store.overdueSteps(deps.now().toISOString(), OVERDUE_BATCH)
      for (const { runId, ref } of overdue) {
        const lastError = await lastDispatchError(runId, ref)
        const result = await apply(runId, { type: 'timeout', ref, lastError })
        if (result.ok) {
          logger.info(
            { run: runId, step: stepNumber(ref), state: 'error' },
            'step %s of run %s timed out',
            stepName(ref),
            runId,
          )
        }
      }
      return overdue.length
    },

    /** Reads a run for a request, refused when there is none. */
    findRun,
    /** Reads an event for a request, refused when there is none. */
    findEvent,
  }
}

export type RunService = ReturnType<typeof createRunService>

function unknownToken(): RunRefused {
  return new RunRefused(
    'unknown-callback-token',
    'This callback URL is unknown or has expired (its step was restarted). Use the callback_url of the latest dispatch.',
  )
}

/** A run as the attempt it leaves behind when it is retried. */
function attemptOf(run: Run): RunAttempt {
  return {
    attempt: run.attempt,
    state: run.state,
    startedAt: run.steps.find((s) => s.startedAt)?.startedAt ?? run.createdAt,
    finishedAt: run.finishedAt,
    steps: run.steps,
    onFailure: run.onFailure,
  }
}
