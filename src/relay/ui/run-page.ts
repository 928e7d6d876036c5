import { STATUS_CODES } from 'node:http'
import type { CallbackPolicy } from '../deliverers/outbound-address.js'
import {
  type RegistryCallbackState,
  registryCallbackStatus,
} from '../deliverers/registry-callback-status.js'
import type { Attempt } from '../model/attempt.js'
import type { CallbackRecord } from '../model/callback.js'
import {
  isFinal,
  type Run,
  type RunAttempt,
  type Step,
  type StepRef,
  shownTarget,
  stepName,
} from '../model/run.js'
import { reportBadge, stateBadge, toneOf } from './badges.js'
import { type Html, html } from './html.js'
import { layout, liveRegion, REFRESH_SECONDS, refreshLink } from './layout.js'
import { actionsHref, externalLink } from './links.js'
import { imageLabel, retryStep, stoppingStep, testBadge, whyItStopped } from './run-parts.js'
import { clockTag, formatElapsed, instantTag, span } from './time.js'

export interface RunView {
  run: Run
  /** The run's attempts, oldest first. */
  attempts: readonly Attempt[]
  callbacks: readonly CallbackRecord[]
  /** The run's earlier attempts, as each ended. */
  earlier?: readonly RunAttempt[]
  now: Date
  /** Where `owner/repo` links point: https://github.com, or a GitHub Enterprise Server. */
  githubUrl: string
  /** The relay's public_url, which steps call back: named when a step never reported. */
  publicUrl?: string
  /** The config's registry_callbacks: a registry callback that will never be sent says so. */
  registryPolicy?: CallbackPolicy
  /** How often the page updates itself while the run is going. */
  liveSeconds?: number
}

/** Why a callback changed nothing, in words (the store keeps the engine's reason). */
const REFUSALS: Record<string, string> = {
  'step-ended': 'arrived after the step had ended',
  stale:
    'was for an earlier try of this step (the run was retried since) or for a step that had not started',
  'not-due': 'arrived before the step was due',
}

/** One line of a step's log. `rank` orders lines that share a time. */
interface LogLine {
  at: string
  rank: number
  what: Html
}

/** `GET /runs/:id`: the run's header, why it stopped, and the timeline of its steps. */
export function runPage(view: RunView): string {
  const { run, now } = view
  const going = run.state === 'running'
  return layout({
    title: `${run.chain} · ${run.image.reference}`,
    section: 'runs',
    refreshSeconds: going ? (view.liveSeconds ?? REFRESH_SECONDS) : null,
    body: html`
<a class="back" href="/">← Runs</a>
${going ? refreshLink(`/runs/${run.id}`, 'The run') : ''}
${liveRegion(
  'run-live',
  html`<div class="page-head">
<h1>${run.chain}</h1>
${stateBadge(run.state)} ${testBadge(run.source)}
<p class="subtitle">${imageLabel(run.image)}${run.attempt > 1 ? html` <span class="tag" title="retried">attempt ${run.attempt}</span>` : ''}</p>
${going ? cancelForm(run) : ''}
</div>
${stopped(view)}
${facts(run, now)}
<h2>Steps <span class="muted hint" data-tz-hint>times in UTC</span></h2>
<ol class="timeline">
${run.steps.map((step) => stepItem(view, step, { phase: 'main', index: step.index, branch: 0 }))}
</ol>
${onFailure(view)}
${registryCallback(view)}
${notifications(view)}
${earlierAttempts(view)}`,
)}`,
  })
}

function stopped({ run, attempts }: RunView): Html {
  if (run.state !== 'failure' && run.state !== 'error' && run.state !== 'cancelled') return html``
  const step = stoppingStep(run)
  const from = retryStep(run)
  // An attempt's error explains the stop only when the step never got through.
  const lastError =
    step && step.dispatchedAt === null
      ? attempts.filter((a) => a.step === step.index && a.error).at(-1)?.error
      : undefined
  const cancelledBy = run.steps
    .flatMap((s) => [s, ...s.branches])
    .find((s) => s.state === 'cancelled')
  return html`<section class="callout${run.state === 'failure' ? '' : ' callout-warn'}" aria-labelledby="why">
<h2 id="why">Why it stopped</h2>
${run.state === 'cancelled' ? html`<p class="message">${cancelledBy?.description ?? 'Cancelled'}</p>` : ''}
${step ? html`<p class="message">${whyItStopped(step, run.steps.length)}</p>` : ''}
${lastError && lastError !== step?.description ? html`<p class="attempt-error">${lastError}</p>` : ''}
${step?.targetUrl ? html`<p>Details: ${externalLink(step.targetUrl)}</p>` : ''}
${from ? retryForm(run, from) : ''}
</section>`
}

/** Stops the run; a plain form, as the retry. */
function cancelForm(run: Run): Html {
  return html`<form class="cancel" method="post" action="/runs/${run.id}/cancel">
<button class="button button-quiet" type="submit">Cancel the run</button>
</form>`
}

/** Approve or reject a waiting approval, with an optional comment. */
function decisionForm(run: Run, step: Step): Html {
  const action = `/runs/${run.id}/steps/${step.index}`
  return html`<form class="decision" method="post" action="${action}/approve">
<label>Comment <input name="comment" maxlength="1000" autocomplete="off"></label>
<button class="button" type="submit">Approve</button>
<button class="button button-quiet" type="submit" formaction="${action}/reject">Reject</button>
</form>`
}

/** A plain form, so retrying works without JavaScript; the relay's POST handler does the rest. */
function retryForm(run: Run, from: Step): Html {
  const kept =
    from.index === 1
      ? 'The chain starts again from its first step.'
      : from.index === 2
        ? 'Step 1 succeeded and is not run again.'
        : `Steps 1 to ${from.index - 1} succeeded and are not run again.`
  return html`<form class="retry" method="post" action="/runs/${run.id}/retry">
<button class="button" type="submit">Retry from step ${from.index}</button>
<p>${kept}</p>
</form>`
}

function facts(run: Run, now: Date): Html {
  const fact = (label: string, value: Html | string | null) =>
    html`<div><dt>${label}</dt><dd>${value ?? html`<span class="muted">—</span>`}</dd></div>`
  return html`<dl class="facts card">
${fact('Image', html`<code>${run.image.reference}</code>`)}
${run.image.digest ? fact('Digest', html`<code title="${run.image.digest}">${run.image.digest}</code>`) : ''}
${fact('Source', run.source)}
${fact('Pusher', run.push.pusher)}
${fact('Pushed', instantTag(run.push.pushedAt, now))}
${fact('Started', instantTag(run.createdAt, now))}
${fact('Finished', run.finishedAt ? instantTag(run.finishedAt, now) : null)}
${fact('Duration', html`${span(run.createdAt, run.finishedAt, now)}${run.finishedAt ? '' : html` <span class="muted">so far</span>`}`)}
${fact('Event', html`<a href="/events/${run.eventId}">The push that started it</a>`)}
${fact('Run id', html`<code>${run.id}</code>`)}
</dl>`
}

function targetOf(view: RunView, step: Step): Html {
  switch (step.kind) {
    case 'dispatch':
      return html`Dispatch to ${externalLink(actionsHref(view.githubUrl, step.target), step.target)}`
    case 'webhook':
      return html`Webhook to <code>${shownTarget(step)}</code>`
    case 'parallel':
      return html`${step.branches.length} steps at once <span class="muted">(${step.require === 'any' ? 'any one must succeed' : 'all must succeed'})</span>`
    case 'approval':
      return html`Approval`
  }
}

function stepItem(view: RunView, step: Step, ref: StepRef): Html {
  const { run, now } = view
  const tone = toneOf(step.state)
  const name = stepName(ref)
  const { current, earlier } = stepLog(view, step, ref)
  const decision = step.decision
  return html`<li class="step step-${step.state}" id="step-${name}">
<div class="marker marker-${tone}" aria-hidden="true">${ref.branch ? `${ref.index}.${ref.branch}` : step.index}</div>
<div class="step-body card">
<div class="step-head"><h3><span class="visually-hidden">Step ${name}: </span>${targetOf(view, step)}</h3>${stateBadge(step.state)}</div>
<p class="step-meta">${stepMeta(run, step, now)}</p>
${report(step)}
${noReport(view, step)}
${decision ? html`<p class="decision-made">${decision.approved ? 'Approved' : 'Rejected'} by ${decision.by} ${instantTag(decision.at, now)}${decision.comment ? html`: ${decision.comment}` : ''}</p>` : ''}
${step.kind === 'approval' && step.state === 'waiting' && ref.phase === 'main' ? decisionForm(run, step) : ''}
${step.branches.length ? html`<ol class="branches">${step.branches.map((branch) => stepItem(view, branch, { ...ref, branch: branch.index }))}</ol>` : ''}
${current.length ? html`<ol class="log">${current.map(logItem(now, run.createdAt))}</ol>` : ''}
${
  earlier.length
    ? html`<details class="earlier" id="earlier-${name}"><summary>Earlier tries of this step, before the run was retried (${earlier.length})</summary><ol class="log">${earlier.map(logItem(now, run.createdAt))}</ol></details>`
    : ''
}
</div>
</li>`
}

function stepMeta(run: Run, step: Step, now: Date): Html {
  const parts: (Html | string)[] = []
  if (step.eventType) parts.push(html`event type <code>${step.eventType}</code>`)
  if (step.state === 'skipped') {
    const stop = stoppingStep(run)
    parts.push(
      stop ? `Not run: the chain stopped at step ${stop.index}` : 'Not run: the run was stopped',
    )
  } else if (step.state === 'queued') {
    parts.push('Not reached yet')
  } else if (step.startedAt) {
    parts.push(
      isFinal(step.state)
        ? `took ${span(step.startedAt, step.finishedAt, now)}`
        : `${step.state === 'waiting' ? 'waiting' : 'running'} for ${span(step.startedAt, null, now)}`,
    )
  }
  return html`${parts.map((p, i) => html`${i ? ' · ' : ''}${p}`)}`
}

/**
 * A step sent out that never reported before its timeout: the usual reasons, each a thing to
 * check, and where to look (a dispatch's repository runs, filtered to repository_dispatch).
 */
function noReport(view: RunView, step: Step): Html {
  if (step.state !== 'error' || !step.dispatchedAt || !step.description?.startsWith('No callback'))
    return html``
  const relay = view.publicUrl ? html` (<code>${view.publicUrl}</code>)` : ''
  if (step.kind === 'webhook') {
    return html`<div class="causes"><p>The receiver never called the step's <code>callback_url</code>. Check that it reports the result there, and that the relay's <code>public_url</code>${relay} is reachable from it.</p></div>`
  }
  const runs = `${actionsHref(view.githubUrl, step.target)}?query=${encodeURIComponent('event:repository_dispatch')}`
  return html`<div class="causes"><p>No report came back. The usual causes:</p>
<ul>
<li>the workflow's <code>on: repository_dispatch: types:</code> does not include <code>${step.eventType ?? ''}</code>;</li>
<li>the workflow is not on the repository's default branch: <code>repository_dispatch</code> runs only the workflows there;</li>
<li>the hookchain step lacks <code>if: always()</code>, so a job that failed before it never reported;</li>
<li>the relay's <code>public_url</code>${relay} is not reachable from the runner.</li>
</ul>
<p>${externalLink(runs, `The runs of ${step.target} started by repository_dispatch`)}</p></div>`
}

/** The step's latest report: description first, as the reader came for it. */
function report(step: Step): Html {
  if (!step.description && !step.context && !step.targetUrl) return html``
  const tone =
    step.state === 'failure' ? ' report-bad' : step.state === 'error' ? ' report-warn' : ''
  return html`<div class="report${tone}">
${step.description ? html`<p class="description">${step.description}</p>` : ''}
${step.context ? html`<p class="context">${step.context}</p>` : ''}
${step.targetUrl ? html`<p class="link">${externalLink(step.targetUrl)}</p>` : ''}
</div>`
}

/** The step's happenings in time order, split into this try and the tries before a retry. */
function stepLog(
  view: RunView,
  step: Step,
  ref: StepRef,
): { current: LogLine[]; earlier: LogLine[] } {
  const current: LogLine[] = []
  const earlier: LogLine[] = []
  const thisTry = (at: string) => step.startedAt !== null && at >= step.startedAt
  const mine = (x: { step: number | null; phase: string; branch: number }) =>
    x.step === ref.index && x.phase === ref.phase && x.branch === ref.branch
  if (step.kind === 'parallel' || step.kind === 'approval') {
    if (step.kind === 'approval' && step.state === 'waiting' && step.deadline) {
      current.push({
        at: step.deadline,
        rank: 5,
        what: html`<span class="muted">Ends as error at this time unless someone decides first</span>`,
      })
    }
    return { current, earlier }
  }

  if (step.startedAt) {
    const queued = step.kind === 'dispatch' ? 'Queued for dispatch' : 'Queued for delivery'
    current.push({ at: step.startedAt, rank: 0, what: html`${queued}` })
  }
  for (const attempt of view.attempts) {
    if (!mine(attempt) || attempt.kind === 'registry-callback' || attempt.kind === 'notification')
      continue
    const line = { at: attempt.startedAt, rank: 1, what: attemptLine(attempt) }
    ;(thisTry(attempt.startedAt) ? current : earlier).push(line)
  }
  if (step.dispatchedAt) {
    const done =
      step.kind === 'dispatch'
        ? 'Dispatched: GitHub accepted the repository_dispatch event'
        : 'Delivered'
    current.push({ at: step.dispatchedAt, rank: 2, what: html`${done}` })
  }
  let reportedEnd = false
  for (const callback of view.callbacks) {
    if (!mine(callback)) continue
    const line = { at: callback.receivedAt, rank: 3, what: callbackLine(callback) }
    const thisGeneration = callback.generation === step.generation && step.startedAt !== null
    if (thisGeneration && callback.outcome === 'accepted' && callback.body.state !== 'pending')
      reportedEnd = true
    ;(thisGeneration ? current : earlier).push(line)
  }
  if (step.finishedAt && !reportedEnd) {
    current.push({
      at: step.finishedAt,
      rank: 4,
      what: html`Ended as ${stateBadge(step.state)} without a final report from the step`,
    })
  }
  if (step.callbacksDropped > 0) {
    const last = view.callbacks.filter(mine).at(-1)
    current.push({
      at: last?.receivedAt ?? step.finishedAt ?? '',
      rank: 6,
      what: html`<span class="refused">${step.callbacksDropped} more refused ${step.callbacksDropped === 1 ? 'callback was' : 'callbacks were'} counted but not kept</span>`,
    })
  }
  if (!isFinal(step.state) && step.deadline) {
    current.push({
      at: step.deadline,
      rank: 5,
      what: html`<span class="muted">Ends as error at this time unless a final report arrives first</span>`,
    })
  }
  const byTime = (a: LogLine, b: LogLine) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.rank - b.rank)
  return { current: current.sort(byTime), earlier: earlier.sort(byTime) }
}

/** A log line; times show the date only when it is not the day the run started. */
function logItem(now: Date, runStart: string) {
  return (line: LogLine) =>
    html`<li>${clockTag(line.at, now, runStart)}<div class="what">${line.what}</div></li>`
}

const ATTEMPT_LABELS: Record<Attempt['kind'], string> = {
  dispatch: 'Dispatch attempt',
  webhook: 'Delivery attempt',
  'registry-callback': 'Callback attempt',
  notification: 'Notification',
  'image-read': 'Registry read',
  'commit-status': 'Commit status',
}

/** An attempt: its answer, and its error in the dispatcher's words, shown where it cannot be missed. */
function attemptLine(attempt: Attempt): Html {
  const answer =
    attempt.status === null
      ? 'no answer'
      : `HTTP ${attempt.status} ${STATUS_CODES[attempt.status] ?? ''}`.trimEnd()
  return html`${ATTEMPT_LABELS[attempt.kind]}: ${answer} <span class="muted">· ${formatElapsed(attempt.durationMs)}</span>
${attempt.error ? html`<p class="attempt-error">${attempt.error}</p>` : ''}`
}

function callbackLine(callback: CallbackRecord): Html {
  const { body, outcome } = callback
  const refused =
    outcome === 'accepted'
      ? ''
      : html` <span class="refused">Refused: it ${REFUSALS[outcome] ?? `was not applied (${outcome})`}</span>`
  return html`Reported ${reportBadge(body.state)}${refused}
${body.description ? html`<p>${body.description}</p>` : ''}
${body.context ? html`<p class="muted">${body.context}</p>` : ''}
${body.target_url ? html`<p>${externalLink(body.target_url)}</p>` : ''}`
}

/** The chain's on_failure steps: run after a failure, or waiting in case one comes. */
function onFailure(view: RunView): Html {
  const { run } = view
  if (run.onFailure.length === 0) return html``
  const ran = run.onFailure.some((s) => s.state !== 'queued' && s.state !== 'skipped')
  return html`<h2>On failure <span class="muted hint">${ran ? 'run once, after the run failed' : 'run only if the run fails'}</span></h2>
<ol class="timeline">
${run.onFailure.map((step) => stepItem(view, step, { phase: 'on_failure', index: step.index, branch: 0 }))}
</ol>`
}

/** Who was told how the run went (Slack, Teams, Discord, webhooks). */
function notifications({ run, attempts, now }: RunView): Html {
  const sent = attempts.filter((a) => a.kind === 'notification')
  if (sent.length === 0) return html``
  return html`<h2>Notifications</h2>
<div class="card step-body">
<ol class="log">${sent.map((a) => logItem(now, run.createdAt)({ at: a.startedAt, rank: 0, what: html`${attemptLine(a)} <span class="muted">to ${a.target}</span>` }))}</ol>
</div>`
}

/** The attempts before this one, each as it ended. */
function earlierAttempts({ run, earlier = [], now }: RunView): Html {
  if (earlier.length === 0) return html``
  return html`<h2>Earlier attempts</h2>
${earlier
  .slice()
  .reverse()
  .map(
    (attempt) => html`<details class="earlier-attempt card" id="attempt-${attempt.attempt}">
<summary>Attempt ${attempt.attempt} ${stateBadge(attempt.state)} <span class="muted">${instantTag(attempt.startedAt, now)}${attempt.finishedAt ? ` · took ${span(attempt.startedAt, attempt.finishedAt, now)}` : ''}</span></summary>
<ol class="log">${attempt.steps.map(
      (step) =>
        html`<li><div class="what">Step ${step.index}: ${step.kind === 'dispatch' || step.kind === 'webhook' ? shownTarget(step) : step.kind} ${stateBadge(step.state)}${step.description ? html` <span class="muted">${step.description}</span>` : ''}</div></li>`,
    )}</ol>
</details>`,
  )}
<p class="muted">This is attempt ${run.attempt}; the requests and reports of earlier attempts are kept with their steps above, under each step's earlier tries.</p>`
}

/** What became of telling the registry how the run ended: sent, refused by the config, or not applicable. */
function registryCallback({ run, attempts, now, registryPolicy }: RunView): Html {
  const status = registryCallbackStatus(run, attempts, registryPolicy)
  if (!status) return html``
  const calls = attempts.filter((a) => a.kind === 'registry-callback')
  const tone =
    status.state === 'sent'
      ? 'ok'
      : status.state === 'refused' || status.state === 'failing'
        ? 'warn'
        : 'idle'
  return html`<h2>Registry callback</h2>
<div class="card step-body registry-callback">
<p><span class="badge badge-${tone}">${STATE_WORDS[status.state]}</span> ${status.detail}</p>
${calls.length ? html`<ol class="log">${calls.map((a) => logItem(now, run.createdAt)({ at: a.startedAt, rank: 0, what: attemptLine(a) }))}</ol>` : ''}
</div>`
}

const STATE_WORDS: Record<RegistryCallbackState, string> = {
  waiting: 'waiting',
  queued: 'about to be sent',
  sent: 'sent',
  failing: 'not delivered yet',
  refused: 'not sent',
  'not-applicable': 'not applicable',
}
