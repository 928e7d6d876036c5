import type { Callback } from '../../shared/callback.js'
import type { CallbackRecord, NewJob, Store } from '../store/store.js'
import { advance, type Effect, type RunInput, startRun, type Transition } from './engine.js'
import { isFinal, type Run, type Step } from './run.js'

/** The outbox jobs that carry out a transition's effects. */
export function jobsFor(run: Run, effects: readonly Effect[], now: Date): NewJob[] {
  return effects.map((effect) =>
    effect.type === 'send'
      ? {
          kind: 'send',
          runId: run.id,
          step: effect.step,
          generation: effect.generation,
          dueAt: now.getTime(),
        }
      : {
          kind: 'notify-registry',
          runId: run.id,
          step: null,
          generation: null,
          dueAt: now.getTime(),
        },
  )
}

/** New runs with their first step begun, and the jobs that dispatch it. */
export function startRuns(runs: readonly Run[], now: Date): { runs: Run[]; jobs: NewJob[] } {
  const started = runs.map((run) => startRun(run, now))
  return {
    runs: started.map((s) => s.run),
    jobs: started.flatMap((s) => jobsFor(s.run, s.effects, now)),
  }
}

export type Applied =
  | (Extract<Transition, { ok: true }> & { ended: Step[] })
  | Extract<Transition, { ok: false }>
  | { ok: false; reason: 'not-found'; message: string }

const MAX_CONFLICTS = 20

/**
 * Applies an input to a stored run: load, compute with the pure engine, save over the version it
 * was computed from, and start again when another writer (a timeout, another relay) got there first.
 */
export async function applyInput(
  store: Store,
  runId: string,
  input: RunInput,
  now: () => Date,
  callback?: Callback,
): Promise<Applied> {
  for (let i = 0; i < MAX_CONFLICTS; i++) {
    const run = await store.getRun(runId)
    if (!run) return { ok: false, reason: 'not-found', message: `run ${runId} does not exist` }
    const at = now()
    const transition = advance(run, input, at)
    const record: CallbackRecord | undefined =
      callback && input.type === 'callback'
        ? {
            runId,
            step: input.step,
            generation: input.generation,
            receivedAt: at.toISOString(),
            body: callback,
            outcome: transition.ok ? 'accepted' : transition.reason,
          }
        : undefined
    if (!transition.ok) {
      if (record) await store.recordCallback(record)
      return transition
    }
    const next = { ...transition.run, version: run.version + 1 }
    if (await store.saveTransition(next, jobsFor(next, transition.effects, at), record)) {
      const ended = next.steps.filter(
        (s, i) => isFinal(s.state) && !isFinal(run.steps[i]?.state ?? 'queued'),
      )
      return { ...transition, run: next, ended }
    }
  }
  throw new Error(`run ${runId} kept changing under ${MAX_CONFLICTS} attempts to update it`)
}
