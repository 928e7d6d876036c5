import { redactUrl } from '../../shared/redaction.js'
import { formatDuration } from '../config/duration.js'
import type { Chain, NotifyTarget, SentStepSpec, StepSpec } from '../config/settings.js'
import type { Run } from '../model/run.js'
import type { SourceWebhook } from '../sources/webhook-setup.js'
import { stateBadge } from './badges.js'
import { type Html, html } from './html.js'
import { layout } from './layout.js'
import { actionsHref, externalLink, hostOf, withQuery } from './links.js'
import { imageLabel } from './run-parts.js'
import { ageTag, span } from './time.js'

export interface ChainsView {
  chains: readonly Chain[]
  /** The latest run of each chain, by chain name. */
  latest: ReadonlyMap<string, Run>
  /** What to enter in each enabled registry, secrets as placeholders. */
  webhooks: readonly SourceWebhook[]
  githubUrl: string
  now: Date
}

/** `GET /chains`: each configured chain, how to send it events, and a button that tries it. */
export function chainsPage(view: ChainsView): string {
  const { chains } = view
  return layout({
    title: 'Chains',
    section: 'chains',
    body: html`
<div class="page-head">
<h1>Chains</h1>
<p class="subtitle">The chains of the relay's config, what starts them, and the webhook each registry needs.</p>
</div>
${chains.length ? chains.map((chain) => chainCard(view, chain)) : html`<div class="card empty"><strong>No chains configured.</strong>Add one under <code>chains</code> in the config and restart the relay.</div>`}
<h2 id="webhooks">Registry webhooks</h2>
${webhooks(view.webhooks)}`,
  })
}

function chainCard(view: ChainsView, chain: Chain): Html {
  const id = `chain-${chain.name}`
  return html`<section class="card chain" id="${id}" aria-labelledby="${id}-name">
<div class="step-head"><h2 id="${id}-name">${chain.name}</h2>
<form class="test-event" method="post" action="/chains/${encodeURIComponent(chain.name)}/test">
<button class="button button-quiet" type="submit">Send a test event</button>
</form></div>
<dl class="facts">
<div><dt>Repository</dt><dd><code>${chain.match.repository}</code></dd></div>
<div><dt>Tags</dt><dd>${chain.match.tags ? html`<code>${chain.match.tags.join(', ')}</code>` : html`any tag, and pushes by digest`}</dd></div>
<div><dt>Step timeout</dt><dd>${formatDuration(chain.stepTimeoutMs)}</dd></div>
<div><dt>Last run</dt><dd>${lastRun(view, chain)}</dd></div>
</dl>
<div class="step-body">
<h3>Steps</h3>
<ol class="chain-steps">${chain.steps.map((step) => html`<li>${stepLine(view, step)}</li>`)}</ol>
${chain.onFailure.length ? html`<h3>On failure</h3><ol class="chain-steps">${chain.onFailure.map((step) => html`<li>${stepLine(view, step)}</li>`)}</ol>` : ''}
${chain.notify.length ? html`<h3>Notify</h3><ul class="plain">${chain.notify.map((target) => html`<li>${notifyLine(target)}</li>`)}</ul>` : ''}
<p class="muted test-note">A test event runs this chain for a made-up image of <code>registry.hookchain.test</code> (its source is <code>test</code>, as <code>client_payload.source</code> tells the steps), through the same dispatches and callbacks as a real push.</p>
</div>
</section>`
}

function lastRun(view: ChainsView, chain: Chain): Html {
  const run = view.latest.get(chain.name)
  if (!run) return html`<span class="muted">none yet</span>`
  const took = span(run.createdAt, run.finishedAt, view.now)
  return html`<a href="/runs/${run.id}">${stateBadge(run.state)}</a> ${imageLabel(run.image)} <span class="muted">${ageTag(run.createdAt, view.now)}, ${run.finishedAt ? `took ${took}` : `${took} so far`} · <a href="${withQuery('/', { q: `chain:${chain.name}` })}">every run</a></span>`
}

function stepLine(view: ChainsView, step: StepSpec): Html {
  switch (step.kind) {
    case 'parallel':
      return html`At once, ${step.require === 'any' ? 'any one must succeed' : 'all must succeed'}:<ul class="plain branches-list">${step.branches.map((branch) => html`<li>${sentLine(view, branch)}</li>`)}</ul>`
    case 'approval':
      return html`Approval by a person, on the run page or the API <span class="muted">(ends as error after ${formatDuration(step.timeoutMs)})</span>`
    default:
      return sentLine(view, step)
  }
}

function sentLine(view: ChainsView, step: SentStepSpec): Html {
  return step.kind === 'dispatch'
    ? html`<code>repository_dispatch</code> <code>${step.eventType}</code> to ${externalLink(actionsHref(view.githubUrl, step.repository), step.repository)}`
    : html`Webhook to <code>${redactUrl(step.url)}</code>${step.secret ? html` <span class="muted">(signed)</span>` : ''}`
}

/** A notify target by kind and the events it hears; its URL is a secret (Slack's is a credential). */
function notifyLine(target: NotifyTarget): Html {
  const where = target.kind === 'webhook' ? html` <code>${hostOf(target.url)}</code>` : ''
  return html`${target.kind}${where} <span class="muted">on ${target.on.join(', ')}</span>`
}

function webhooks(list: readonly SourceWebhook[]): Html {
  if (list.length === 0) {
    return html`<div class="card empty"><strong>No registry is enabled.</strong>Add one under <code>sources</code> in the config (<code>hookchain-relay init --source &lt;name&gt;</code> writes one).</div>`
  }
  return html`<p class="muted">Secrets are shown as the config setting that holds them.</p>
<ul class="plain spaced webhooks">${list.map(
    ({ source, title, setup }) => html`<li class="card step-body" id="source-${source}">
<h3>${title} <span class="muted hint">sources.${source}</span></h3>
<dl class="facts compact">
<div class="wide"><dt>URL</dt><dd><code>${setup.url}</code></dd></div>
${Object.entries(setup.headers).map(([name, value]) => html`<div class="wide"><dt>Header</dt><dd><code>${name}: ${value}</code></dd></div>`)}
</dl>
${setup.notes?.length ? html`<ul class="notes">${setup.notes.map((note) => html`<li>${note}</li>`)}</ul>` : ''}
</li>`,
  )}</ul>`
}
