import express, { type Express, type Request, type Response } from 'express'
import type { Logger } from 'pino'
import type { Settings } from '../config/settings.js'
import type { Metrics } from '../metrics.js'
import type { Store } from '../store/store.js'
import { pagesRouter, retryProblemPage } from '../ui/pages.js'
import { requireAdmin } from './admin-auth.js'
import { allowedMethods, methodNotAllowed, type RouterLayer } from './allowed-methods.js'
import { apiRouter, retryRun } from './api.js'
import { githubWebUrl, sameOrigin } from './browser-guard.js'
import { callbacksRouter } from './callbacks.js'
import { mountHooks } from './hooks.js'
import { databaseUnavailable, Problem, problemHandler, withoutSecret } from './problem.js'

export interface AppDeps {
  store: Store
  settings: Settings
  logger: Logger
  now?: () => Date
  /** New outbox jobs were committed (the worker should look now). */
  onWork?: () => void
  metrics?: Metrics
}

/** The relay's HTTP interface, built from its collaborators so tests can serve it on port 0. */
export function createApp(deps: AppDeps): Express {
  const now = deps.now ?? (() => new Date())
  const onWork = deps.onWork ?? (() => {})
  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)
  mountHooks(app, {
    store: deps.store,
    settings: deps.settings,
    logger: deps.logger,
    now,
    onWork,
    metrics: deps.metrics,
  })

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' })
  })
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.store.ping()
      res.json({ status: 'ready', database: deps.store.dialect })
    } catch (error) {
      deps.logger.warn({ err: error }, 'readiness check: the database does not answer')
      throw databaseUnavailable(
        `The ${deps.store.dialect} database does not answer: ${(error as Error).message}`,
      )
    }
  })
  if (deps.metrics) {
    const { registry } = deps.metrics
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics())
    })
  }

  app.use(
    callbacksRouter({
      store: deps.store,
      logger: deps.logger,
      now,
      onWork,
      metrics: deps.metrics,
    }),
  )
  app.use('/api', requireAdmin(deps.settings.adminToken))
  app.use(
    apiRouter({
      store: deps.store,
      chains: () => deps.settings.chains,
      now,
      logger: deps.logger,
      onWork,
    }),
  )

  const browser = requireAdmin(deps.settings.adminToken, { browser: true })
  app.get('/', browser)
  app.use(['/runs', '/events', '/assets'], browser)
  app.post(
    '/runs/:id/retry',
    sameOrigin,
    async (req: Request, res: Response) => {
      const run = await retryRun(
        { store: deps.store, now, logger: deps.logger, onWork },
        String(req.params.id),
      )
      res.redirect(303, `/runs/${run.id}`)
    },
    retryProblemPage,
  )
  app.use(
    pagesRouter({ store: deps.store, now, githubUrl: githubWebUrl(deps.settings.github.apiUrl) }),
  )

  const routes = app.router.stack as unknown as RouterLayer[]
  app.use((req, _res) => {
    const allowed = allowedMethods(routes, req.path)
    if (allowed.length) throw methodNotAllowed(req.method, withoutSecret(req.path), allowed)
    throw new Problem(
      404,
      'not-found',
      'Not found',
      `Nothing is served at ${req.method} ${withoutSecret(req.path)}; see the README for the relay's routes.`,
    )
  })
  app.use(problemHandler(deps.logger, deps.metrics))
  return app
}
