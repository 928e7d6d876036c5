import { type ErrorRequestHandler, type Request, type Response, Router } from 'express'
import type { Chain } from '../config/settings.js'
import type { CallbackPolicy } from '../deliverers/outbound-address.js'
import { ID_PATTERN } from '../ids.js'
import { EVENT_SOURCES, withCallbackUrlsHidden } from '../model/event.js'
import type { Run } from '../model/run.js'
import type { SourceWebhook } from '../sources/webhook-setup.js'
import type { HistoryStore } from '../store/store.js'
import {
  FAVICON,
  FAVICON_PATH,
  SCRIPT,
  SCRIPT_PATH,
  STYLESHEET,
  STYLESHEET_PATH,
} from '../ui/assets.js'
import { chainsPage } from '../ui/chains-page.js'
import { type ErrorView, errorPage } from '../ui/error-page.js'
import { eventPage, eventsPage } from '../ui/events-page.js'
import { runPage } from '../ui/run-page.js'
import { runsPage } from '../ui/runs-page.js'
import { Problem, problem, refusalProblem } from './problem.js'
import { cursor, limit, onlyParameters } from './query.js'
import { EVENT_LIST_PARAMETERS, eventSearch, RUN_LIST_PARAMETERS, runSearch } from './search.js'

export interface PagesDeps {
  store: HistoryStore
  now: () => Date
  /** Where dispatch targets link to; a GitHub Enterprise Server's web address. */
  githubUrl?: string
  /** The chains of the config the relay runs with. */
  chains?: () => readonly Chain[]
  /** What to enter in each enabled registry, secrets as placeholders. */
  webhooks?: () => readonly SourceWebhook[]
  /** The relay's public_url, which steps call back. */
  publicUrl?: string
  /** The config's registry_callbacks. */
  registryPolicy?: CallbackPolicy
  /** How often a page following a running run updates itself; 5 s unless told. */
  liveSeconds?: number
}

/**
 * Pages carry only what the relay renders: its own script, styles and icon, nothing inline, so a
 * description or target_url that slipped past escaping still could not run.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
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
export function pagesRouter(deps: PagesDeps): Router {
  const { store, now, githubUrl = 'https://github.com' } = deps
  const chains = deps.chains ?? (() => [])
  const router = Router()

  router.get(STYLESHEET_PATH, (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).type('text/css').send(STYLESHEET)
  })
  router.get(FAVICON_PATH, (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).type('image/svg+xml').send(FAVICON)
  })
  router.get(SCRIPT_PATH, (_req, res) => {
    res.set('Cache-Control', ASSET_CACHE).type('text/javascript').send(SCRIPT)
  })

  router.get('/', async (req, res) => {
    onlyParameters(req, RUN_LIST_PARAMETERS)
    const search = runSearch(req, now())
    const before = cursor(req)
    const page = await store.listRuns(search.filter, before, limit(req))
    sendPage(
      res,
      200,
      runsPage({
        runs: page.items,
        search: search.text,
        state: search.filter.state,
        liveSeconds: deps.liveSeconds,
        limit: limitAsked(req),
        cursor: before,
        nextCursor: page.nextCursor,
        now: now(),
      }),
    )
  })

  router.get('/runs/:id', async (req, res) => {
    onlyParameters(req, [])
    const id = String(req.params.id)
    const run = ID_PATTERN.test(id) ? await store.getRun(id) : null
    if (!run) throw notFound('run', id)
    const [attempts, callbacks, earlier] = await Promise.all([
      store.attemptsFor([run.id]),
      store.callbacksFor(run.id),
      store.earlierAttempts(run.id),
    ])
    sendPage(
      res,
      200,
      runPage({
        run,
        attempts,
        callbacks,
        earlier,
        now: now(),
        githubUrl,
        publicUrl: deps.publicUrl,
        registryPolicy: deps.registryPolicy,
        liveSeconds: deps.liveSeconds,
      }),
    )
  })

  router.get('/events', async (req, res) => {
    onlyParameters(req, EVENT_LIST_PARAMETERS)
    const { filter, shown } = eventSearch(req, EVENT_SOURCES, now())
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
        filter: { source: filter.source, outcome: filter.outcome, ...shown },
        limit: limitAsked(req),
        cursor: before,
        nextCursor: page.nextCursor,
        now: now(),
      }),
    )
  })

  router.get('/events/:id', async (req, res) => {
    onlyParameters(req, [])
    const id = String(req.params.id)
    const event = ID_PATTERN.test(id) ? await store.getEvent(id) : null
    if (!event) throw notFound('event', id)
    const runs = await runsById(store, event.runIds)
    sendPage(
      res,
      200,
      eventPage({ event: withCallbackUrlsHidden(event), runs, chains: chains(), now: now() }),
    )
  })

  router.get('/chains', async (req, res) => {
    onlyParameters(req, [])
    const configured = chains()
    const latest = await store.latestRuns(configured.map((c) => c.name))
    sendPage(
      res,
      200,
      chainsPage({
        chains: configured,
        latest: new Map(latest.map((r) => [r.chain, r])),
        webhooks: deps.webhooks?.() ?? [],
        githubUrl,
        now: now(),
      }),
    )
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
 * A button's refusal (404: nothing there; 409: nothing to do) as a page for the person who pressed
 * it, with a way back. A refused cross-site request (403) stays problem+json: no person on the
 * relay's pages sent it.
 */
function buttonProblemPage(
  section: ErrorView['section'],
  back: (req: Request, status: number) => ErrorView['back'],
): ErrorRequestHandler {
  return (error, req, res, next) => {
    const refused = refusalProblem(error)
    if (!refused || refused.status === 403 || res.headersSent) return next(error)
    sendProblemPage(res, refused, back(req, refused.status), section)
  }
}

/** The run page's buttons (retry, cancel, approve, reject). */
export const retryProblemPage = buttonProblemPage('runs', (req, status) =>
  status === 404
    ? { href: '/', label: '← Every run' }
    : { href: `/runs/${encodeURIComponent(String(req.params.id))}`, label: '← Back to the run' },
)

/** The event page's "Deliver again". */
export const eventProblemPage = buttonProblemPage('events', (req, status) =>
  status === 404
    ? { href: '/events', label: '← Every event' }
    : {
        href: `/events/${encodeURIComponent(String(req.params.id))}`,
        label: '← Back to the event',
      },
)

/** The chains page's "Send a test event". */
export const chainsProblemPage = buttonProblemPage('chains', () => ({
  href: '/chains',
  label: '← Every chain',
}))

/** Problems raised by these pages (a bad filter, an unknown id) become pages, not JSON. */
const problemPage: ErrorRequestHandler = (error, req, res, next) => {
  if (!(error instanceof Problem) || res.headersSent) return next(error)
  const section = req.path.startsWith('/events')
    ? 'events'
    : req.path.startsWith('/chains')
      ? 'chains'
      : 'runs'
  const back =
    error.status === 404
      ? section === 'events'
        ? { href: '/events', label: '← Every event' }
        : { href: '/', label: '← Every run' }
      : { href: req.path, label: 'Show the page without filters' }
  sendProblemPage(res, error, back, section)
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
