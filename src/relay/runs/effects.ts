import type { Chain, NotifyTarget } from '../config/settings.js'
import { TEST_SOURCE } from '../model/event.js'
import type { Run } from '../model/run.js'
import type { NewJob } from '../store/store.js'
import { commitStatusJobs } from './commit-status.js'
import { type Effect, type RunEvent, startRun } from './engine.js'
import type { NotificationAbout } from './notification.js'

/** The outbox job that reads a new run's image before its first step: see `needsPreparation`. */
export const PREPARE_JOB = 'prepare'

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
    switch (effect.type) {
      case 'send':
        return [{ ...job, kind: 'send', ref: effect.ref, generation: effect.generation }]
      case 'notify-registry':
        return [{ ...job, kind: 'notify-registry' }]
      case 'prepare':
        return [{ ...job, kind: PREPARE_JOB }]
      default: {
        const args = { event: effect.event, target: 0, ...aboutOf(run, effect.event) }
        return notify.flatMap((target, i) =>
          target.on.includes(effect.event)
            ? [{ ...job, kind: 'notify', args: { ...args, target: i + 1 } }]
            : [],
        )
      }
    }
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

/**
 * Whether a new run's image is read before its first step: a tag without a digest is pinned to
 * the digest it points to, so that every step acts on the same image even if the tag moves, and
 * a chain that reports to the commit needs the commit. Reading the registry in the outbox keeps
 * it off the path of the registry's webhook, whose answer it would otherwise slow down.
 */
export function needsPreparation(run: Run, chain: Chain | undefined): boolean {
  const { digest, commit } = preparationOf(run, chain)
  return digest || commit
}

/** What a new run's image would be read for: its digest, its commit. */
function preparationOf(run: Run, chain: Chain | undefined): { digest: boolean; commit: boolean } {
  // A test event's image is made up: there is nothing to read.
  if (run.source === TEST_SOURCE) return { digest: false, commit: false }
  return {
    digest: run.image.tag !== null && run.image.digest === null,
    commit: Boolean(chain?.reportToCommit) && run.sourceCommit === null,
  }
}

/**
 * Why a registry will not be read now (it gave no answer a moment ago), or null; the service
 * passes what its image reader knows, so that the decision stays pure.
 */
export type SilentRegistry = (registry: string) => string | null

/** The note of a run whose tag could not be pinned, in its history. */
export function unpinnedNote(tag: string, problem: string): string {
  return `The tag ${tag} was not pinned to a digest (${problem}): each step gets what the tag points to when it pulls it.`
}

/**
 * New runs with their first step begun (or their image to be read first), and their jobs. A run
 * that would be read only for its digest, from a registry known not to answer, starts at once
 * with a note instead: a burst of pushes then does not queue behind a registry that is down.
 */
export function startRuns(
  runs: readonly Run[],
  now: Date,
  chains: readonly Chain[] = [],
  silent: SilentRegistry = () => null,
): { runs: Run[]; jobs: NewJob[] } {
  const started = runs.map((run) => {
    const chain = chains.find((c) => c.name === run.chain)
    const { digest, commit } = preparationOf(run, chain)
    const tag = run.image.tag
    const why = digest && !commit ? silent(run.image.registry) : null
    const begun =
      why === null || tag === null
        ? run
        : { ...run, notes: [...run.notes, { at: now.toISOString(), text: unpinnedNote(tag, why) }] }
    const { run: next, effects } = startRun(begun, now, {
      prepare: (digest || commit) && why === null,
    })
    return {
      run: next,
      jobs: [
        ...jobsFor(next, effects, now, chain?.notify),
        ...commitStatusJobs(null, next, chain, now),
      ],
    }
  })
  return { runs: started.map((s) => s.run), jobs: started.flatMap((s) => s.jobs) }
}
