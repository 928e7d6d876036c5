import { EVENT_OUTCOMES, type EventRecord } from '../model/event.js'
import type { Run } from '../model/run.js'
import { SOURCE_NAMES } from '../sources/index.js'
import type { PushEvent } from '../sources/types.js'
import type { EventFilter } from '../store/store.js'
import { outcomeBadge, stateBadge } from './badges.js'
import { type Html, html } from './html.js'
import { layout } from './layout.js'
import { hostOf, withQuery } from './links.js'
import { pager } from './pager.js'
import { imageLabel } from './run-parts.js'
import { ageTag, instantTag } from './time.js'

export interface EventsView {
  events: readonly EventRecord[]
  /** The runs the listed events started, by id (a run pruned since is missing). */
  runs: ReadonlyMap<string, Run>
  filter: EventFilter
  limit: string | null
  cursor: string | null
  nextCursor: string | null
  now: Date
}

export interface EventView {
  event: EventRecord
  runs: ReadonlyMap<string, Run>
  now: Date
}

/** `GET /events`: every delivery received, with what came of it. */
export function eventsPage(view: EventsView): string {
  const { events, filter } = view
  const filtered = Boolean(filter.source || filter.outcome)
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
<td class="c-outcome"><div>${outcomeBadge(event.outcome)}${event.reason ? html`<p class="reason">${event.reason}</p>` : ''}</div></td>
<td class="c-source">${event.source}</td>
<td class="c-received nowrap"><a href="/events/${event.id}">${ageTag(event.receivedAt, now)}</a></td>
<td class="c-images"><div>${pushList(event.pushes)}</div></td>
<td class="c-runs"><div>${runLinks(event.runIds, runs)}</div></td>
</tr>`,
)}
</tbody>
</table>`
}

/** `GET /events/:id`: one delivery, with its raw payload. */
export function eventPage({ event, runs, now }: EventView): string {
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
${event.reason ? html`<section class="callout callout-warn"><h2>Why it started nothing</h2><p class="message">${event.reason}</p></section>` : ''}
<dl class="facts card">
<div><dt>Source</dt><dd>${event.source}</dd></div>
<div><dt>Received</dt><dd>${instantTag(event.receivedAt, now)}</dd></div>
<div><dt>Delivery id</dt><dd><code>${event.deliveryId}</code></dd></div>
<div><dt>Content type</dt><dd>${event.contentType ? html`<code>${event.contentType}</code>` : html`<span class="muted">—</span>`}</dd></div>
<div><dt>Event id</dt><dd><code>${event.id}</code></dd></div>
</dl>
<h2>Images pushed</h2>
<div class="card step-body">${event.pushes.length ? pushDetails(event.pushes, now) : html`<p class="muted">The delivery named no image push.</p>`}</div>
<h2>Runs started</h2>
<div class="card step-body">${event.runIds.length ? runLinks(event.runIds, runs) : html`<p class="muted">None.</p>`}</div>
<h2>Payload</h2>
<pre class="payload"><code>${prettyPayload(event.payload)}</code></pre>`,
  })
}

function filterForm(filter: EventFilter, filtered: boolean): Html {
  const options = (values: readonly string[], chosen: string | undefined) =>
    values.map(
      (value) =>
        html`<option value="${value}"${chosen === value ? html` selected` : ''}>${value}</option>`,
    )
  return html`<form class="filters" method="get" action="/events" role="search" aria-label="Filter events">
<label>Source<select name="source"><option value="">Any source</option>${options(SOURCE_NAMES, filter.source)}</select></label>
<label>Outcome<select name="outcome"><option value="">Any outcome</option>${options(EVENT_OUTCOMES, filter.outcome)}</select></label>
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
    (push) => html`<li>${imageLabel(push)}
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
