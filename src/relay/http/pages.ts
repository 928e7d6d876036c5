import { type ErrorRequestHandler, type Request, type Response, Router } from 'express'
import { ID_PATTERN } from '../ids.js'
import { EVENT_OUTCOMES, type EventOutcome, withCallbackUrlsHidden } from '../model/event.js'
import { RUN_STATES, type Run, type RunState } from '../model/run.js'
import { SOURCE_NAMES } from '../sources/index.js'
import type { EventFilter, HistoryStore, RunFilter } from '../store/store.js'
import { FAVICON, FAVICON_PATH, STYLESHEET, STYLESHEET_PATH } from '../ui/assets.js'
import { type ErrorView, errorPage } from '../ui/error-page.js'
import { eventPage, eventsPage } from '../ui/events-page.js'
import { runPage } from '../ui/run-page.js'
import { runsPage } from '../ui/runs-page.js'
import { Problem, problem, refusalProblem } from './problem.js'
import { cursor, limit, oneOf, text } from './query.js'

export interface PagesDeps {
  store: HistoryStore
  now: () => Date
  /** Where dispatch targets link to; a GitHub Enterprise Server's web address. */
  githubUrl?: string
}

/**
 * Pages carry only what the relay renders: no scripts at all, styles and the icon from the relay
 * itself, so a description or target_url that slipped past escaping still could not run.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  // The history changes all the time and sits behind the admin token.
  'Cache-Control': 'no-store',
}

/** Assets are versioned by content in their URLs, so they may be kept for a year. */
const ASSET_CACHE = 'private, max-age=31536000, immutable'

/**
 * The history as server-rendered web pages: runs (`/`, `/runs/:id`) and events (`/events`,
 * `/events/:id`). They work without JavaScript. Guarded by the caller, as the API is.
 */
export function pagesRouter({ store, now, githubUrl = 'https://github.com' }: PagesDeps): Router {
  const router = Router()

  router.get(STYLESHEET_PATH, (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).type('text/css').send(STYLESHEET)
  })
  router.get(FAVICON_PATH, (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).type('image/svg+xml').send(FAVICON)
  })

  router.get('/', async (req, res) => {
    const filter: RunFilter = {
      repository: text(req, 'repository'),
      chain: text(req, 'chain'),
      state: oneOf<RunState>(req, 'state', RUN_STATES),
    }
    const before = cursor(req)
    const page = await store.listRuns(filter, before, limit(req))
    sendPage(
      res,
      200,
      runsPage({
        runs: page.items,
        filter,
        limit: limitAsked(req),
        cursor: before,
        nextCursor: page.nextCursor,
        now: now(),
      }),
    )
  })

  router.get('/runs/:id', async (req, res) => {
    const id = String(req.params.id)
    const run = ID_PATTERN.test(id) ? await store.getRun(id) : null
    if (!run) throw notFound('run', id)
    const [attempts, callbacks, earlier] = await Promise.all([
      store.attemptsFor([run.id]),
      store.callbacksFor(run.id),
      store.earlierAttempts(run.id),
    ])
    sendPage(res, 200, runPage({ run, attempts, callbacks, earlier, now: now(), githubUrl }))
  })

  router.get('/events', async (req, res) => {
    const filter: EventFilter = {
      source: oneOf(req, 'source', SOURCE_NAMES),
      outcome: oneOf<EventOutcome>(req, 'outcome', EVENT_OUTCOMES),
    }
    const before = cursor(req)
    const page = await store.listEvents(filter, before, limit(req))
    const runs = await runsById(
      store,
      page.items.flatMap((e) => e.runIds),
    )
    sendPage(
      res,
      200,
      eventsPage({
        events: page.items,
        runs,
        filter,
        limit: limitAsked(req),
        cursor: before,
        nextCursor: page.nextCursor,
        now: now(),
      }),
    )
  })

  router.get('/events/:id', async (req, res) => {
    const id = String(req.params.id)
    const event = ID_PATTERN.test(id) ? await store.getEvent(id) : null
    if (!event) throw notFound('event', id)
    const runs = await runsById(store, event.runIds)
    sendPage(res, 200, eventPage({ event: withCallbackUrlsHidden(event), runs, now: now() }))
  })

  router.use(problemPage)
  return router
}

function sendPage(res: Response, status: number, page: string): void {
  res.status(status).set(PAGE_HEADERS).type('html').send(page)
}

async function runsById(store: HistoryStore, ids: readonly string[]): Promise<Map<string, Run>> {
  const runs = await store.getRuns(ids)
  return new Map(runs.map((r) => [r.id, r]))
}

/** The `limit` the reader chose (already checked), to keep it on the next pages. */
function limitAsked(req: Request): string | null {
  const value = req.query.limit
  return typeof value === 'string' && value !== '' ? value : null
}

function notFound(kind: 'run' | 'event', id: string): Problem {
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id
  return problem(
    `${kind}-not-found`,
    `There is no ${kind} ${shown}. The address may be mistyped, or the ${kind} is older than the relay keeps history.`,
  )
}

/**
 * The retry button's 404 (no such run) and 409 (nothing to retry) as pages for the person who
 * pressed it, with a way back. A refused cross-site request (403) stays problem+json: no person
 * on the relay's pages sent it.
 */
export const retryProblemPage: ErrorRequestHandler = (error, req, res, next) => {
  const refused = refusalProblem(error)
  if (!refused || refused.status === 403 || res.headersSent) return next(error)
  const back =
    refused.status === 404
      ? { href: '/', label: '← Every run' }
      : { href: `/runs/${encodeURIComponent(String(req.params.id))}`, label: '← Back to the run' }
  sendProblemPage(res, refused, back, 'runs')
}

/** Problems raised by these pages (a bad filter, an unknown id) become pages, not JSON. */
const problemPage: ErrorRequestHandler = (error, req, res, next) => {
  if (!(error instanceof Problem) || res.headersSent) return next(error)
  const events = req.path.startsWith('/events')
  const back =
    error.status === 404
      ? events
        ? { href: '/events', label: '← Every event' }
        : { href: '/', label: '← Every run' }
      : { href: req.path, label: 'Show the page without filters' }
  sendProblemPage(res, error, back, events ? 'events' : 'runs')
}

function sendProblemPage(
  res: Response,
  problem: Problem,
  back: ErrorView['back'],
  section: ErrorView['section'],
): void {
  const { status, title, detail } = problem
  sendPage(res.set(problem.headers), status, errorPage({ status, title, detail, back, section }))
}
