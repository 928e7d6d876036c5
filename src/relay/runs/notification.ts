import type { NotifyEvent } from '../config/settings.js'
import { isFinal, type Run, type Step, shownTarget, stepName } from '../model/run.js'

/** What a notification is about besides its run and event, fixed when it is queued. */
export interface NotificationAbout {
  /** The run's attempt it tells of. */
  attempt: number
  /** For `approval`: the step that waits. */
  step: number | null
}

/** What a notification says, whatever the chat or service it goes to. Pure data. */
export interface Notification extends NotificationAbout {
  event: NotifyEvent
  runId: string
  chain: string
  /** `docker.io/acme/app:v1.2.0` */
  image: string
  /** One line: `release failed for docker.io/acme/app:v1.2.0`. */
  title: string
  /** What stopped the run or waits, with its description; null when nothing to add. */
  detail: string | null
  /** The run page. */
  url: string
}

const VERBS: Record<NotifyEvent, string> = {
  success: 'succeeded',
  failure: 'failed',
  error: 'ended in error',
  cancelled: 'was cancelled',
  approval: 'waits for an approval',
}

/**
 * The message for `event` of a run, linking to `runUrl`. `about` is what the queued job recorded;
 * a job queued before it did tells of the run as it is now.
 */
export function notificationFor(
  run: Run,
  event: NotifyEvent,
  runUrl: string,
  about: Partial<NotificationAbout> = {},
): Notification {
  const waiting =
    event === 'approval'
      ? about.step
        ? run.steps[about.step - 1]
        : run.steps.find((s) => s.kind === 'approval' && s.state === 'waiting')
      : undefined
  return {
    event,
    runId: run.id,
    attempt: about.attempt ?? run.attempt,
    step: waiting?.index ?? null,
    chain: run.chain,
    image: run.image.reference,
    title: `${run.chain} ${VERBS[event]} for ${run.image.reference}`,
    detail: detailOf(run, event, waiting),
    url: runUrl,
  }
}

function detailOf(run: Run, event: NotifyEvent, waiting: Step | undefined): string | null {
  if (event === 'approval') {
    if (!waiting) return null
    const until = waiting.deadline ? ` until ${waiting.deadline}` : ''
    return `Step ${waiting.index} of ${run.steps.length} waits for a decision${until}`
  }
  if (event === 'success') return `${run.steps.length} of ${run.steps.length} steps succeeded`
  const stopped = stoppingStep(run)
  if (!stopped) return null
  const { step, name } = stopped
  const what = step.kind === 'parallel' || step.kind === 'approval' ? step.kind : shownTarget(step)
  return `Step ${name} (${what}) ended as ${step.state}${step.description ? `: ${step.description}` : ''}`
}

/** The step that ended the run other than by success, looking into groups for the branch at fault. */
function stoppingStep(run: Run): { step: Step; name: string } | null {
  for (const step of run.steps) {
    if (!isFinal(step.state) || step.state === 'success' || step.state === 'skipped') continue
    const branch = step.branches.find((b) => b.state === 'failure' || b.state === 'error')
    if (branch) {
      return {
        step: branch,
        name: stepName({ phase: 'main', index: step.index, branch: branch.index }),
      }
    }
    return { step, name: String(step.index) }
  }
  return null
}
