import { RUN_STATES, type Run, type RunState } from '../model/run.js'
import { stateBadge } from './badges.js'
import { type Html, html } from './html.js'
import { layout, liveRegion, REFRESH_SECONDS, refreshLink } from './layout.js'
import { withQuery } from './links.js'
import { pager } from './pager.js'
import {
  digestChip,
  imageLabel,
  stepDots,
  stoppingStep,
  testBadge,
  whyItStopped,
} from './run-parts.js'
import { ageTag, span } from './time.js'

export interface RunsView {
  runs: readonly Run[]
  /** The search as its box shows it (`chain:release tag:v1.*`), the state aside. */
  search: string
  state: RunState | undefined
  /** The `limit` asked for, kept in paging links. */
  limit: string | null
  /** The cursor this page was asked with (null: the newest runs). */
  cursor: string | null
  nextCursor: string | null
  now: Date
  /** How often the page updates itself while a run on it is going. */
  liveSeconds?: number
}

/** What the search box takes, for its hint. */
const SEARCH_HELP =
  'A word is looked for in the image, the chain, the pusher and the digest. Or narrow by repository:acme/* chain:release tag:v1.* digest:sha256:4b4f pusher:alice since:24h until:2026-11-26; * matches anything.'

/** `GET /`: the runs, newest first, with a search and paging. */
export function runsPage(view: RunsView): string {
  const { runs, now } = view
  const going = runs.some((r) => r.state === 'running')
  const filtered = Boolean(view.search || view.state)
  const keep = { q: view.search, state: view.state, limit: view.limit }
  const here = withQuery('/', { ...keep, cursor: view.cursor })
  return layout({
    title: 'Runs',
    section: 'runs',
    refreshSeconds: going ? (view.liveSeconds ?? REFRESH_SECONDS) : null,
    body: html`
<div class="page-head">
<h1>Runs</h1>
${going ? refreshLink(here, 'A run on this page') : ''}
</div>
${searchForm(view, filtered)}
${liveRegion(
  'runs-live',
  html`<div class="card">
${runs.length ? runTable(runs, now) : emptyState(filtered)}
</div>
${pager(
  view.cursor ? withQuery('/', keep) : null,
  view.nextCursor ? withQuery('/', { ...keep, cursor: view.nextCursor }) : null,
  'Older runs',
)}`,
)}`,
  })
}

function searchForm(view: RunsView, filtered: boolean): Html {
  return html`<form class="filters" method="get" action="/" role="search" aria-label="Search runs">
<label class="search">Search<input type="search" name="q" value="${view.search}" placeholder="acme/app, release, v1.*, sha256:4b4f, tag:latest since:24h" autocomplete="off" spellcheck="false" aria-describedby="search-help"></label>
<label>State<select name="state">
<option value="">Any state</option>
${RUN_STATES.map((state) => html`<option value="${state}"${view.state === state ? html` selected` : ''}>${state}</option>`)}
</select></label>
${view.limit ? html`<input type="hidden" name="limit" value="${view.limit}">` : ''}
<div class="actions"><button class="button" type="submit">Search</button>${filtered ? html`<a href="/">Clear</a>` : ''}</div>
<p class="help" id="search-help">${SEARCH_HELP}</p>
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
<td class="c-chain nowrap"><a class="primary row-link" href="/runs/${run.id}">${run.chain}</a> ${testBadge(run.source)}</td>
<td class="c-image"><div>${imageLabel(run.image)}${run.image.digest ? html` ${digestChip(run.image.digest)}` : ''}${stopped ? html`<p class="why">${whyItStopped(stopped, run.steps.length)}</p>` : ''}</div></td>
<td class="c-steps">${stepDots(run)}</td>
<td class="c-started nowrap">${ageTag(run.createdAt, now)}</td>
<td class="c-duration nowrap">${run.finishedAt ? html`<span class="on-phone">took </span>${duration}` : html`${duration} <span class="muted">so far</span>`}</td>
</tr>`
}

function emptyState(filtered: boolean): Html {
  return filtered
    ? html`<div class="empty"><strong>No runs match this search.</strong><a href="/">Show every run</a></div>`
    : html`<div class="empty"><strong>No runs yet.</strong>A run starts when a registry push matches a chain; every push received is listed under <a href="/events">Events</a>, and each chain can be tried from <a href="/chains">Chains</a>.</div>`
}
