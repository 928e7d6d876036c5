import { type Request, Router } from 'express'
import type { Logger } from 'pino'
import { takeInAgain } from '../chains/intake.js'
import { RUN_STATES, type Run, type RunState } from '../chains/run.js'
import { applyInput } from '../chains/transitions.js'
import type { Chain } from '../config/settings.js'
import { ID_PATTERN } from '../ids.js'
import { SOURCE_NAMES, type SourceName } from '../sources/types.js'
import type { EventOutcome, EventRecord, Store } from '../store/store.js'
import { Problem } from './problem.js'
import { eventJson, runJson } from './representation.js'

export const EVENT_OUTCOMES: readonly EventOutcome[] = [
  'started',
  'unmatched',
  'ignored',
  'rejected',
]

export interface ApiDeps {
  store: Store
  chains: () => readonly Chain[]
  now: () => Date
  logger: Logger
  onWork: () => void
}

/** The history as JSON. Guarded by the caller. */
export function apiRouter({ store, chains, now, logger, onWork }: ApiDeps): Router {
  const router = Router()

  router.get('/api/runs', async (req, res) => {
    const filter = {
      repository: text(req, 'repository'),
      chain: text(req, 'chain'),
      state: oneOf<RunState>(req, 'state', RUN_STATES),
    }
    const page = await store.listRuns(filter, cursor(req), limit(req))
    const attempts = await store.attemptsFor(page.items.map((r) => r.id))
    res.json({
      runs: page.items.map((run) =>
        runJson(
          run,
          attempts.filter((a) => a.runId === run.id),
        ),
      ),
      next_cursor: page.nextCursor,
    })
  })

  router.get('/api/runs/:id', async (req, res) => {
    const run = await findRun(store, String(req.params.id))
    const [attempts, callbacks] = await Promise.all([
      store.attemptsFor([run.id]),
      store.callbacksFor(run.id),
    ])
    res.json(runJson(run, attempts, callbacks))
  })

  router.post('/api/runs/:id/retry', async (req, res) => {
    const run = await retryRun({ store, now, logger, onWork }, String(req.params.id))
    const [attempts, callbacks] = await Promise.all([
      store.attemptsFor([run.id]),
      store.callbacksFor(run.id),
    ])
    res.status(202).json(runJson(run, attempts, callbacks))
  })

  router.get('/api/events', async (req, res) => {
    const filter = {
      source: oneOf<SourceName>(req, 'source', SOURCE_NAMES),
      outcome: oneOf<EventOutcome>(req, 'outcome', EVENT_OUTCOMES),
    }
    const page = await store.listEvents(filter, cursor(req), limit(req))
    res.json({ events: page.items.map((e) => eventJson(e)), next_cursor: page.nextCursor })
  })

  router.get('/api/events/:id', async (req, res) => {
    res.json(eventJson(await findEvent(store, String(req.params.id)), true))
  })

  router.post('/api/events/:id/redeliver', async (req, res) => {
    const event = await findEvent(store, String(req.params.id))
    if (event.pushes.length === 0) {
      throw new Problem(
        409,
        'event-has-no-push',
        'Nothing to redeliver',
        `Event ${event.id} holds no image push (${event.reason ?? event.outcome}); there is no chain to start.`,
      )
    }
    const { runs, jobs } = takeInAgain(event, chains(), now())
    if (runs.length === 0) {
      throw new Problem(
        409,
        'no-chain-matches',
        'No chain matches',
        `No chain in the current config matches the pushes of event ${event.id}; add or fix a chain's match first.`,
      )
    }
    await store.addRuns(event.id, runs, jobs)
    logger.info(
      { event: event.id, runs: runs.map((r) => r.id) },
      'event %s redelivered: %d run(s) started',
      event.id,
      runs.length,
    )
    onWork()
    res.status(202).json({ event_id: event.id, runs: runs.map((r) => r.id) })
  })

  return router
}

export async function findRun(store: Store, id: string): Promise<Run> {
  const run = ID_PATTERN.test(id) ? await store.getRun(id) : null
  if (!run)
    throw new Problem(
      404,
      'run-not-found',
      'Run not found',
      `There is no run ${id}; list runs with GET /api/runs.`,
    )
  return run
}

async function findEvent(store: Store, id: string): Promise<EventRecord> {
  const event = ID_PATTERN.test(id) ? await store.getEvent(id) : null
  if (!event)
    throw new Problem(
      404,
      'event-not-found',
      'Event not found',
      `There is no event ${id}; list events with GET /api/events.`,
    )
  return event
}

/** Resumes a failed, errored or timed-out run from its failed step (new tokens; the old ones stay dead). */
export async function retryRun(
  deps: Pick<ApiDeps, 'store' | 'now' | 'logger' | 'onWork'>,
  id: string,
): Promise<Run> {
  const run = await findRun(deps.store, id)
  const result = await applyInput(deps.store, run.id, { type: 'retry' }, deps.now)
  if (!result.ok)
    throw new Problem(409, 'run-not-retryable', 'Run cannot be retried', `${result.message}.`)
  const step = result.run.steps.find((s) => s.state === 'dispatching')
  deps.logger.info(
    { run: run.id, step: step?.index },
    'run %s retried from step %s',
    run.id,
    String(step?.index),
  )
  deps.onWork()
  return result.run
}

function single(req: Request, name: string): string | undefined {
  const value = req.query[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw badQuery(name, 'must be given once, as a plain value')
  return value
}

export function text(req: Request, name: string): string | undefined {
  const value = single(req, name)
  if (value !== undefined && value.length > 300)
    throw badQuery(name, 'must be at most 300 characters')
  return value
}

export function oneOf<T extends string>(
  req: Request,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = single(req, name)
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value))
    throw badQuery(name, `must be one of ${allowed.join(', ')}`)
  return value as T
}

export function cursor(req: Request): string | null {
  const value = single(req, 'cursor')
  if (value === undefined) return null
  if (!ID_PATTERN.test(value))
    throw badQuery('cursor', 'must be a next_cursor value from an earlier page')
  return value
}

export function limit(req: Request): number {
  const value = single(req, 'limit')
  if (value === undefined) return 20
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw badQuery('limit', 'must be a whole number from 1 to 100')
  return n
}

function badQuery(name: string, rule: string): Problem {
  return new Problem(
    400,
    'invalid-query',
    'Invalid query parameter',
    `Query parameter "${name}" ${rule}.`,
    {
      errors: [{ parameter: name, detail: rule }],
    },
  )
}
