import type { NotifyTarget } from '../config/settings.js'
import type { Run } from '../model/run.js'
import type { NewJob } from '../store/store.js'
import { type Effect, type RunEvent, startRun } from './engine.js'
import type { NotificationAbout } from './notification.js'

/**
 * The outbox jobs that carry out a transition's effects: a `notify` effect becomes one job per
 * target of the chain that wants that event, so that each is tried again on its own.
 */
export function jobsFor(
  run: Run,
  effects: readonly Effect[],
  now: Date,
  notify: readonly NotifyTarget[] = [],
): NewJob[] {
  const job = { runId: run.id, dueAt: now.getTime(), ref: null, generation: null, args: null }
  return effects.flatMap((effect): NewJob[] => {
    if (effect.type === 'send') {
      return [{ ...job, kind: 'send', ref: effect.ref, generation: effect.generation }]
    }
    if (effect.type === 'notify-registry') return [{ ...job, kind: 'notify-registry' }]
    const args = { event: effect.event, target: 0, ...aboutOf(run, effect.event) }
    return notify.flatMap((target, i) =>
      target.on.includes(effect.event)
        ? [{ ...job, kind: 'notify', args: { ...args, target: i + 1 } }]
        : [],
    )
  })
}

/**
 * What a notification is about, fixed when it is queued: the run's attempt, and the approval that
 * waits. A notification tried again later says the same, and is the same message.
 */
function aboutOf(run: Run, event: RunEvent): NotificationAbout {
  const waiting =
    event === 'approval'
      ? run.steps.find((s) => s.kind === 'approval' && s.state === 'waiting')
      : undefined
  return { attempt: run.attempt, step: waiting?.index ?? null }
}

/** New runs with their first step begun, and the jobs that carry it out. */
export function startRuns(
  runs: readonly Run[],
  now: Date,
  notifyOf: (run: Run) => readonly NotifyTarget[] = () => [],
): { runs: Run[]; jobs: NewJob[] } {
  const started = runs.map((run) => startRun(run, now))
  return {
    runs: started.map((s) => s.run),
    jobs: started.flatMap((s) => jobsFor(s.run, s.effects, now, notifyOf(s.run))),
  }
}
