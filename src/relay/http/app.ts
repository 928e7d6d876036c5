import express, { type Express, type Request, type Response } from 'express'
import type { Logger } from 'pino'
import type { ServedSettings } from '../config/settings.js'
import type { Metrics } from '../metrics.js'
import { createRunWatch, type RunWatch } from '../runs/run-watch.js'
import type { RunService } from '../runs/service.js'
import { sourceWebhooks } from '../sources/webhook-setup.js'
import type { Store } from '../store/store.js'
import { adminName, requireAdmin } from './admin-auth.js'
import { allowedMethods, methodNotAllowed, type RouterLayer } from './allowed-methods.js'
import { apiRouter } from './api.js'
import { apiAccess } from './api-access.js'
import { rawBody } from './body.js'
import { githubWebUrl, refuseCrossSite, refuseForeignHost } from './browser-guard.js'
import { createByteBudget } from './byte-budget.js'
import { callbacksRouter } from './callbacks.js'
import { decisionComment, stepIndex } from './decision.js'
import { mountHooks } from './hooks.js'
import { DEFAULT_LIMITS, type IntakeLimits } from './limits.js'
import { chainsProblemPage, eventProblemPage, pagesRouter, retryProblemPage } from './pages.js'
import { databaseUnavailable, problem, problemHandler, withoutSecret } from './problem.js'
import { startRouter } from './start.js'

export interface AppDeps {
  store: Store
  runs: RunService
  settings: ServedSettings
  logger: Logger
  now?: () => Date
  metrics?: Metrics
  /** Where long polls wait; by default one of this app's own. */
  watch?: RunWatch
  /** Bounds of what is taken before authentication; by default `DEFAULT_LIMITS`. */
  limits?: Pick<IntakeLimits, 'unauthenticatedBytes' | 'unauthenticatedBytesPerClient'>
}

/** The relay's HTTP interface, built from its collaborators so tests can serve it on port 0. */
export function createApp(deps: AppDeps): Express {
  const { store, runs, settings, logger } = deps
  const now = deps.now ?? (() => new Date())
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  const limits = deps.limits ?? DEFAULT_LIMITS
  const budget = createByteBudget({
    total: limits.unauthenticatedBytes,
    perClient: limits.unauthenticatedBytesPerClient,
  })
  mountHooks(app, { runs, settings, now, metrics: deps.metrics, budget })
  app.use(callbacksRouter(runs, settings.publicUrl))
  // Every route below is for people and their tools, not for registries and steps.
  app.use(refuseForeignHost(settings.adminToken, settings.publicUrl))

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
    try {
      await store.ping()
      res.json({ status: 'ready', database: store.dialect })
    } catch (error) {
      logger.warn({ err: error }, 'readiness check: the database does not answer')
      throw databaseUnavailable(
        `The ${store.dialect} database does not answer: ${(error as Error).message}`,
      )
    }
  })
  if (deps.metrics) {
    const { registry } = deps.metrics
    const guard = settings.metricsRequireAdmin
      ? requireAdmin(settings.adminToken)
      : (_req: Request, _res: Response, next: () => void) => next()
    app.get('/metrics', guard, async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    })
  }

  // Workflows start chains with their OIDC token: this route has a guard of its own.
  app.use(startRouter({ runs, settings, now }))
  app.use(
    '/api',
    apiAccess(settings.adminToken, runs),
    refuseCrossSite(settings.publicUrl, { json: true }),
  )
  const watch = deps.watch ?? createRunWatch({ versions: (ids) => store.runVersions(ids), logger })
  app.use(apiRouter({ store, runs, now, registryPolicy: settings.registryCallbacks, watch }))

  const browser = requireAdmin(settings.adminToken, { browser: true })
  app.get('/', browser)
  app.use(['/runs', '/events', '/chains', '/assets'], browser)
  // The pages' buttons: plain forms, each answered with the page that shows what it did.
  const fromPages = refuseCrossSite(settings.publicUrl, { json: false })
  const button = (
    path: string,
    act: (req: Request) => Promise<string>,
    problemPage = retryProblemPage,
  ) =>
    app.post(
      path,
      fromPages,
      rawBody,
      async (req: Request, res: Response) => {
        res.redirect(303, await act(req))
      },
      problemPage,
    )
  const id = (req: Request) => String(req.params.id)
  const runPage = (run: { id: string }) => `/runs/${run.id}`
  button('/runs/:id/retry', async (req) => runPage(await runs.retry(id(req))))
  button('/runs/:id/cancel', async (req) => runPage(await runs.cancel(id(req), adminName(req))))
  for (const [verb, approved] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    button(`/runs/:id/steps/:step/${verb}`, async (req) =>
      runPage(
        await runs.decide(id(req), stepIndex(req), {
          approved,
          by: adminName(req),
          comment: decisionComment(req),
        }),
      ),
    )
  }
  button(
    '/events/:id/redeliver',
    async (req) => {
      await runs.redeliver(id(req))
      return `/events/${encodeURIComponent(id(req))}`
    },
    eventProblemPage,
  )
  button(
    '/chains/:name/test',
    async (req) => runPage(await runs.test(String(req.params.name), adminName(req))),
    chainsProblemPage,
  )
  app.use(
    pagesRouter({
      store,
      now,
      githubUrl: githubWebUrl(settings.github.apiUrl),
      chains: () => settings.chains,
      webhooks: () => sourceWebhooks(settings.publicUrl, settings.sourceBlocks, { masked: true }),
      publicUrl: settings.publicUrl,
      registryPolicy: settings.registryCallbacks,
    }),
  )

  const routes = app.router.stack as unknown as RouterLayer[]
  app.use((req, _res) => {
    const allowed = allowedMethods(routes, req.path)
    if (allowed.length) throw methodNotAllowed(req.method, withoutSecret(req.path), allowed)
    throw problem(
      'not-found',
      `Nothing is served at ${req.method} ${withoutSecret(req.path)}; see openapi.yaml for the relay's routes.`,
    )
  })
  app.use(problemHandler(logger, deps.metrics))
  return app
}
