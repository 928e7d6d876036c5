import { Router } from 'express'
import type { CallbackPolicy } from '../deliverers/outbound-address.js'
import { EVENT_SOURCES, withCallbackUrlsHidden } from '../model/event.js'
import type { Run } from '../model/run.js'
import type { RunWatch } from '../runs/run-watch.js'
import type { RunService } from '../runs/service.js'
import type { HistoryStore } from '../store/store.js'
import { adminName } from './admin-auth.js'
import { rawBody } from './body.js'
import { decisionComment, stepIndex } from './decision.js'
import { cursor, limit, onlyParameters, revealed, waitSeconds } from './query.js'
import { etagMatches, eventJson, runEtag, runJson } from './representation.js'
import { EVENT_LIST_PARAMETERS, eventSearch, RUN_LIST_PARAMETERS, runSearch } from './search.js'

export interface ApiDeps {
  store: HistoryStore
  runs: RunService
  now?: () => Date
  /** The config's registry_callbacks: a run's registry callback that will never be sent says so. */
  registryPolicy?: CallbackPolicy
  /** Long polls of a run wait here. */
  watch: RunWatch
}

/** The history as JSON, and what can be done to it. Guarded by the caller. */
export function apiRouter({
  store,
  runs,
  now = () => new Date(),
  registryPolicy,
  watch,
}: ApiDeps): Router {
  const router = Router()

  /** A run with its attempts and callbacks, as `GET /api/runs/<id>` answers it. */
  async function fullRun(run: Run) {
    const [attempts, callbacks, earlier] = await Promise.all([
      store.attemptsFor([run.id]),
      store.callbacksFor(run.id),
      store.earlierAttempts(run.id),
    ])
    return runJson(run, { attempts, callbacks, earlier, registryPolicy })
  }

  router.get('/api/runs', async (req, res) => {
    onlyParameters(req, RUN_LIST_PARAMETERS)
    const { filter } = runSearch(req, now())
    const page = await store.listRuns(filter, cursor(req), limit(req))
    const attempts = await store.attemptsFor(page.items.map((r) => r.id))
    res.json({
      runs: page.items.map((run) =>
        runJson(run, { attempts: attempts.filter((a) => a.runId === run.id), registryPolicy }),
      ),
      next_cursor: page.nextCursor,
    })
  })

  // With ?wait= and the ETag it last saw, a client is answered once the run changes (a new
  // version: a state of the run or of a step), or with 304 when the wait ends first.
  router.get('/api/runs/:id', async (req, res) => {
    onlyParameters(req, ['wait'])
    const id = String(req.params.id)
    const wait = waitSeconds(req)
    let run = await runs.findRun(id)
    const seen = runEtag(run)
    if (etagMatches(req.headers['if-none-match'], seen)) {
      if (wait !== null) {
        const gone = new AbortController()
        res.on('close', () => gone.abort())
        if (await watch.waitForChange(run.id, run.version, wait * 1000, gone.signal)) {
          run = await runs.findRun(id)
        }
        if (gone.signal.aborted) return
      }
      if (runEtag(run) === seen) {
        res.status(304).set('ETag', seen).end()
        return
      }
    }
    res.set('ETag', runEtag(run)).json(await fullRun(run))
  })

  router.post('/api/runs/:id/retry', async (req, res) => {
    const run = await runs.retry(String(req.params.id))
    res.status(202).json(await fullRun(run))
  })

  router.post('/api/runs/:id/cancel', async (req, res) => {
    const run = await runs.cancel(String(req.params.id), adminName(req))
    res.status(200).json(await fullRun(run))
  })

  for (const [verb, approved] of [
    ['approve', true],
    ['reject', false],
  ] as const) {
    router.post(`/api/runs/:id/steps/:step/${verb}`, rawBody, async (req, res) => {
      const run = await runs.decide(String(req.params.id), stepIndex(req), {
        approved,
        by: adminName(req),
        comment: decisionComment(req),
      })
      res.status(200).json(await fullRun(run))
    })
  }

  router.get('/api/events', async (req, res) => {
    onlyParameters(req, [...EVENT_LIST_PARAMETERS, 'reveal'])
    const { filter } = eventSearch(req, EVENT_SOURCES, now())
    const page = await store.listEvents(filter, cursor(req), limit(req))
    const shown = revealed(req) ? page.items : page.items.map(withCallbackUrlsHidden)
    res.json({ events: shown.map((e) => eventJson(e)), next_cursor: page.nextCursor })
  })

  router.get('/api/events/:id', async (req, res) => {
    onlyParameters(req, ['reveal'])
    const event = await runs.findEvent(String(req.params.id))
    res.json(eventJson(revealed(req) ? event : withCallbackUrlsHidden(event), true))
  })

  router.post('/api/events/:id/redeliver', async (req, res) => {
    const started = await runs.redeliver(String(req.params.id))
    res.status(202).json({ event_id: String(req.params.id), runs: started.map((r) => r.id) })
  })

  return router
}
