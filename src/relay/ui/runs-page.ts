import { RUN_STATES, type Run } from '../model/run.js'
import type { RunFilter } from '../store/store.js'
import { stateBadge } from './badges.js'
import { type Html, html } from './html.js'
import { layout, REFRESH_SECONDS } from './layout.js'
import { withQuery } from './links.js'
import { pager } from './pager.js'
import { imageLabel, stepDots, stoppingStep, whyItStopped } from './run-parts.js'
import { ageTag, span } from './time.js'

export interface RunsView {
  runs: readonly Run[]
  filter: RunFilter
  /** The `limit` asked for, kept in paging links. */
  limit: string | null
  /** The cursor this page was asked with (null: the newest runs). */
  cursor: string | null
  nextCursor: string | null
  now: Date
}

/** `GET /`: the runs, newest first, with filters and paging. */
export function runsPage(view: RunsView): string {
  const { runs, filter, now } = view
  const going = runs.some((r) => r.state === 'running')
  const filtered = Boolean(filter.repository || filter.chain || filter.state)
  const keep = { ...filter, limit: view.limit }
  return layout({
    title: 'Runs',
    section: 'runs',
    refreshSeconds: going ? REFRESH_SECONDS : null,
    body: html`
<div class="page-head">
<h1>Runs</h1>
${going ? html`<span class="live">Refreshing every ${REFRESH_SECONDS} s while a run is going</span>` : ''}
</div>
${filterForm(filter, filtered)}
<div class="card">
${runs.length ? runTable(runs, now) : emptyState(filtered)}
</div>
${pager(
  view.cursor ? withQuery('/', keep) : null,
  view.nextCursor ? withQuery('/', { ...keep, cursor: view.nextCursor }) : null,
  'Older runs',
)}`,
  })
}

function filterForm(filter: RunFilter, filtered: boolean): Html {
  return html`<form class="filters" method="get" action="/" role="search" aria-label="Filter runs">
<label>Repository<input type="text" name="repository" value="${filter.repository ?? ''}" placeholder="acme/app" autocomplete="off" spellcheck="false"></label>
<label>Chain<input type="text" name="chain" value="${filter.chain ?? ''}" placeholder="release" autocomplete="off" spellcheck="false"></label>
<label>State<select name="state">
<option value="">Any state</option>
${RUN_STATES.map((state) => html`<option value="${state}"${filter.state === state ? html` selected` : ''}>${state}</option>`)}
</select></label>
<div class="actions"><button class="button" type="submit">Filter</button>${filtered ? html`<a href="/">Clear</a>` : ''}</div>
</form>`
}

function runTable(runs: readonly Run[], now: Date): Html {
  return html`<table class="list runs">
<caption class="visually-hidden">Runs, newest first</caption>
<thead><tr><th scope="col">State</th><th scope="col">Chain</th><th scope="col">Image</th><th scope="col">Steps</th><th scope="col">Started</th><th scope="col">Duration</th></tr></thead>
<tbody>
${runs.map((run) => runRow(run, now))}
</tbody>
</table>`
}

function runRow(run: Run, now: Date): Html {
  const stopped = stoppingStep(run)
  const duration = span(run.createdAt, run.finishedAt, now)
  return html`<tr data-run="${run.id}">
<td class="c-state">${stateBadge(run.state)}</td>
<td class="c-chain nowrap"><a class="primary" href="/runs/${run.id}">${run.chain}</a></td>
<td class="c-image"><div>${imageLabel(run.image)}${stopped ? html`<p class="why">${whyItStopped(stopped, run.steps.length)}</p>` : ''}</div></td>
<td class="c-steps">${stepDots(run)}</td>
<td class="c-started nowrap">${ageTag(run.createdAt, now)}</td>
<td class="c-duration nowrap">${run.finishedAt ? html`<span class="on-phone">took </span>${duration}` : html`${duration} <span class="muted">so far</span>`}</td>
</tr>`
}

function emptyState(filtered: boolean): Html {
  return filtered
    ? html`<div class="empty"><strong>No runs match these filters.</strong><a href="/">Show every run</a></div>`
    : html`<div class="empty"><strong>No runs yet.</strong>A run starts when a registry push matches a chain; every push received is listed under <a href="/events">Events</a>.</div>`
}
