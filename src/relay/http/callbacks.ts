import { Router } from 'express'
import type { Logger } from 'pino'
import { formatProblems, validateCallback } from '../../shared/callback.js'
import { applyInput } from '../chains/transitions.js'
import { hashToken } from '../dispatch/outbox-worker.js'
import { type Metrics, observeEndedSteps } from '../metrics.js'
import type { Store } from '../store/store.js'
import { bodyBytes, parseJson, rawBody, requireMediaType } from './body.js'
import { Problem } from './problem.js'
import { runJson, stepJson } from './representation.js'

export interface CallbacksDeps {
  store: Store
  logger: Logger
  now: () => Date
  onWork: () => void
  metrics?: Metrics
}

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,100}$/

const unknownToken = () =>
  new Problem(
    404,
    'unknown-callback-token',
    'Unknown callback token',
    'This callback URL is unknown or has expired (its step was restarted). Use the callback_url of the latest dispatch.',
  )

/** `POST /callbacks/<token>`: a step reports its result, as Docker Hub's callback validation did. */
export function callbacksRouter(deps: CallbacksDeps): Router {
  const router = Router()
  router.post('/callbacks/:token', rawBody, async (req, res) => {
    const token = req.params.token ?? ''
    const found = TOKEN_SHAPE.test(token) ? await deps.store.findToken(hashToken(token)) : null
    if (!found) throw unknownToken()

    requireMediaType(req, ['application/json'])
    const validation = validateCallback(parseJson(bodyBytes(req)))
    if (!validation.ok) {
      throw new Problem(
        422,
        'invalid-callback',
        'Invalid callback',
        `The callback does not match the schema: ${formatProblems(validation.problems)}.`,
        {
          errors: validation.problems.map((p) => ({ pointer: p.pointer, detail: p.message })),
        },
      )
    }
    const callback = validation.value
    const result = await applyInput(
      deps.store,
      found.runId,
      { type: 'callback', step: found.step, generation: found.generation, callback },
      deps.now,
      callback,
    )
    deps.metrics?.callbacks.inc({
      state: callback.state,
      outcome: result.ok ? 'accepted' : result.reason,
    })
    if (!result.ok) {
      if (result.reason === 'step-ended') {
        throw new Problem(
          409,
          'step-ended',
          'Step already ended',
          `${result.message}; the first final callback wins.`,
        )
      }
      throw unknownToken()
    }
    const { run } = result
    const step = run.steps[found.step - 1]
    deps.logger.info(
      { run: run.id, chain: run.chain, step: found.step, state: step?.state, runState: run.state },
      'step %d of run %s reported %s',
      found.step,
      run.id,
      callback.state,
    )
    observeEndedSteps(deps.metrics, result.ended)
    if (result.effects.length) deps.onWork()
    res.status(200).json({ run: runJson(run), step: step ? stepJson(step) : null })
  })
  return router
}
