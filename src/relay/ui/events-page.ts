import type { Chain } from '../config/settings.js'
import {
  EVENT_OUTCOMES,
  EVENT_SOURCES,
  type EventOutcome,
  type EventRecord,
} from '../model/event.js'
import type { Run } from '../model/run.js'
import { chainsFor, compareWithChains } from '../runs/match.js'
import type { PushEvent } from '../sources/types.js'
import { outcomeBadge, stateBadge } from './badges.js'
import { type Html, html } from './html.js'
import { layout } from './layout.js'
import { hostOf, withQuery } from './links.js'
import { pager } from './pager.js'
import { digestChip, imageLabel, testBadge } from './run-parts.js'
import { ageTag, instantTag } from './time.js'

/** The events search as given: each value as typed. */
export interface EventsSearch {
  source?: string
  outcome?: EventOutcome
  repository?: string
  tag?: string
  since?: string
  until?: string
}

export interface EventsView {
  events: readonly EventRecord[]
  /** The runs the listed events started, by id (a run pruned since is missing). */
  runs: ReadonlyMap<string, Run>
  filter: EventsSearch
  limit: string | null
  cursor: string | null
  nextCursor: string | null
  now: Date
}

export interface EventView {
  event: EventRecord
  runs: ReadonlyMap<string, Run>
  /** The chains of the config the relay runs with: what a redelivery starts, what an unmatched push was compared with. */
  chains: readonly Chain[]
  now: Date
}

/** `GET /events`: every delivery received, with what came of it. */
export function eventsPage(view: EventsView): string {
  const { events, filter } = view
  const filtered = Object.values(filter).some(Boolean)
  const keep = { ...filter, limit: view.limit }
  return layout({
    title: 'Events',
    section: 'events',
    body: html`
<div class="page-head">
<h1>Events</h1>
<p class="subtitle">Every delivery from a registry, including those that started nothing, and why.</p>
</div>
${filterForm(filter, filtered)}
<div class="card">
${events.length ? eventTable(view) : emptyState(filtered)}
</div>
${pager(
  view.cursor ? withQuery('/events', keep) : null,
  view.nextCursor ? withQuery('/events', { ...keep, cursor: view.nextCursor }) : null,
  'Older events',
)}`,
  })
}

function eventTable({ events, runs, now }: EventsView): Html {
  return html`<table class="list events">
<caption class="visually-hidden">Events, newest first</caption>
<thead><tr><th scope="col">Outcome</th><th scope="col">Source</th><th scope="col">Received</th><th scope="col">Images</th><th scope="col">Runs</th></tr></thead>
<tbody>
${events.map(
  (event) => html`<tr data-event="${event.id}">
<td class="c-outcome"><div>${outcomeBadge(event.outcome)}${event.duplicates ? html` <span class="badge badge-idle" title="The same delivery came again ${event.duplicates} more ${event.duplicates === 1 ? 'time' : 'times'}">×${event.duplicates + 1}</span>` : ''}${event.reason ? html`<p class="reason">${event.reason}</p>` : ''}</div></td>
<td class="c-source">${event.source} ${testBadge(event.source)}</td>
<td class="c-received nowrap"><a class="row-link" href="/events/${event.id}" aria-label="Event from ${event.source}, received ${event.receivedAt}">${ageTag(event.receivedAt, now)}</a></td>
<td class="c-images"><div>${pushList(event.pushes)}</div></td>
<td class="c-runs"><div>${runLinks(event.runIds, runs)}</div></td>
</tr>`,
)}
</tbody>
</table>`
}

/** `GET /events/:id`: one delivery, with its raw payload. */
export function eventPage({ event, runs, chains, now }: EventView): string {
  return layout({
    title: `Event from ${event.source}`,
    section: 'events',
    body: html`
<a class="back" href="/events">← Events</a>
<div class="page-head">
<h1>Event from ${event.source}</h1>
${outcomeBadge(event.outcome)}
<p class="subtitle">${instantTag(event.receivedAt, now)}</p>
</div>
${event.reason ? html`<section class="callout callout-warn"><h2>${event.outcome === 'started' ? 'Note' : 'Why it started nothing'}</h2><p class="message">${event.reason}</p></section>` : ''}
<dl class="facts card">
<div><dt>Source</dt><dd>${event.source} ${testBadge(event.source)}</dd></div>
<div><dt>Received</dt><dd>${instantTag(event.receivedAt, now)}</dd></div>
<div><dt>Delivered</dt><dd>${repeats(event, now)}</dd></div>
<div><dt>Delivery id</dt><dd><code>${event.deliveryId}</code></dd></div>
<div><dt>Content type</dt><dd>${event.contentType ? html`<code>${event.contentType}</code>` : html`<span class="muted">—</span>`}</dd></div>
<div><dt>Event id</dt><dd><code>${event.id}</code></dd></div>
</dl>
<h2>Images pushed</h2>
<div class="card step-body">${event.pushes.length ? pushDetails(event.pushes, now) : html`<p class="muted">The delivery named no image push.</p>`}</div>
${event.outcome === 'unmatched' || event.outcome === 'ignored' ? comparedWith(event, chains) : ''}
<h2>Runs started</h2>
<div class="card step-body">${event.runIds.length ? runLinks(event.runIds, runs) : html`<p class="muted">None.</p>`}
${redeliverForm(event, chains)}</div>
<h2>Payload</h2>
<pre class="payload"><code>${prettyPayload(event.payload)}</code></pre>`,
  })
}

/** How often the same delivery came: once, or again and again (the registry retried it). */
function repeats(event: EventRecord, now: Date): Html {
  if (event.duplicates === 0) return html`once`
  const times = event.duplicates + 1
  return html`${times} times <span class="muted">(the last ${event.lastDuplicateAt ? ageTag(event.lastDuplicateAt, now) : 'time unknown'}); repeats start nothing</span>`
}

/** What a redelivery would start today, and the button that does it. */
function redeliverForm(event: EventRecord, chains: readonly Chain[]): Html {
  if (event.pushes.length === 0) return html``
  const starts = event.pushes.flatMap((push) =>
    chainsFor(push, chains).map((chain) => ({ chain: chain.name, push })),
  )
  if (starts.length === 0) {
    return html`<p class="muted redeliver">Delivering it again would start nothing: no chain of the current config matches its ${event.pushes.length === 1 ? 'image' : 'images'}.</p>`
  }
  return html`<form class="redeliver retry" method="post" action="/events/${event.id}/redeliver">
<button class="button" type="submit">Deliver again</button>
<p>Starts ${starts.map((s, i) => html`${i ? ', ' : ''}<strong>${s.chain}</strong> for <code>${s.push.registry}/${s.push.repository}:${s.push.tag ?? s.push.digest ?? ''}</code>`)}, as the chains are configured now; runs started before stay as they are.</p>
</form>`
}

/** Each configured chain, and why it passed over the event's pushes. */
function comparedWith(event: EventRecord, chains: readonly Chain[]): Html {
  if (event.pushes.length === 0) return html``
  return html`<h2>Chains it was compared with <span class="muted hint">as configured now</span></h2>
<div class="card step-body">${
    chains.length === 0
      ? html`<p class="muted">The config has no chains.</p>`
      : html`<ul class="plain spaced compared">${event.pushes.map((push) =>
          compareWithChains(push, chains).map(
            (verdict) =>
              html`<li><strong>${verdict.chain.name}</strong>: repository <code>${verdict.chain.match.repository}</code> ${verdict.repository ? html`<span class="yes">matches</span>` : html`<span class="no">does not match</span>`} <code>${push.registry}/${push.repository}</code>; tags ${verdict.chain.match.tags ? html`<code>${verdict.chain.match.tags.join(', ')}</code>` : 'any (but signature tags)'} ${verdict.tag ? html`<span class="yes">take</span>` : html`<span class="no">do not take</span>`} ${push.tag ? html`<code>${push.tag}</code>` : 'a push by digest'}</li>`,
          ),
        )}</ul>`
  }</div>`
}

function filterForm(filter: EventsSearch, filtered: boolean): Html {
  const options = (values: readonly string[], chosen: string | undefined) =>
    values.map(
      (value) =>
        html`<option value="${value}"${chosen === value ? html` selected` : ''}>${value}</option>`,
    )
  return html`<form class="filters" method="get" action="/events" role="search" aria-label="Filter events">
<label>Repository<input type="search" name="repository" value="${filter.repository ?? ''}" placeholder="acme/app, acme/*" autocomplete="off" spellcheck="false"></label>
<label>Tag<input type="search" name="tag" value="${filter.tag ?? ''}" placeholder="v1.2.0, v1.*" autocomplete="off" spellcheck="false"></label>
<label>Source<select name="source"><option value="">Any source</option>${options(EVENT_SOURCES, filter.source)}</select></label>
<label>Outcome<select name="outcome"><option value="">Any outcome</option>${options(EVENT_OUTCOMES, filter.outcome)}</select></label>
${filter.since ? html`<input type="hidden" name="since" value="${filter.since}">` : ''}
${filter.until ? html`<input type="hidden" name="until" value="${filter.until}">` : ''}
<div class="actions"><button class="button" type="submit">Filter</button>${filtered ? html`<a href="/events">Clear</a>` : ''}</div>
</form>`
}

function emptyState(filtered: boolean): Html {
  return filtered
    ? html`<div class="empty"><strong>No events match these filters.</strong><a href="/events">Show every event</a></div>`
    : html`<div class="empty"><strong>No events yet.</strong>Point a registry's webhook at this relay's <code>/hooks/&lt;source&gt;</code> route and push an image.</div>`
}

function pushList(pushes: readonly PushEvent[]): Html {
  if (!pushes.length) return html`<span class="muted none">—</span>`
  return html`<ul class="plain">${pushes.map((push) => html`<li>${imageLabel(push)}</li>`)}</ul>`
}

function pushDetails(pushes: readonly PushEvent[], now: Date): Html {
  return html`<ul class="plain spaced">${pushes.map(
    (push) => html`<li>${imageLabel(push)}${push.digest ? html` ${digestChip(push.digest)}` : ''}
<p class="step-meta">${push.pusher ? `pushed by ${push.pusher} · ` : ''}${instantTag(push.pushedAt, now)}${push.callbackUrl ? ` · asks for a callback to ${hostOf(push.callbackUrl)}` : ''}</p></li>`,
  )}</ul>`
}

function runLinks(ids: readonly string[], runs: ReadonlyMap<string, Run>): Html {
  if (!ids.length) return html`<span class="muted none">—</span>`
  return html`<ul class="plain">${ids.map((id) => {
    const run = runs.get(id)
    return run
      ? html`<li><a href="/runs/${id}">${run.chain}</a> ${stateBadge(run.state)}</li>`
      : html`<li><span class="muted" title="${id}">a run since deleted</span></li>`
  })}</ul>`
}

/** JSON indented for reading; anything else as received. Escaped like everything else. */
export function prettyPayload(payload: string): string {
  try {
    return JSON.stringify(JSON.parse(payload), null, 2)
  } catch {
    return payload
  }
}
