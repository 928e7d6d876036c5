import type { Run } from '../model/run.js'
import type { NewJob } from '../store/store.js'
import { type Effect, startRun } from './engine.js'

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
