import { type Response, Router } from 'express'
import { formatProblems, validateCallback } from '../../shared/callback.js'
import { stepAt } from '../model/run.js'
import type { RunService } from '../runs/service.js'
import { bodyBytes, parseJson, rawBody, requireMediaType } from './body.js'
import { problem } from './problem.js'
import { createRateLimiter } from './rate-limit.js'
import { runJson, stepJson } from './representation.js'

interface CallbackLocals {
  token: Awaited<ReturnType<RunService['tokenFor']>>
}

/** A step reports a few times (progress, then its result); more than this a minute is a flood. */
const CALLBACKS_PER_MINUTE = 30

/**
 * `POST /callbacks/<token>`: a step reports its result, as Docker Hub's callback validation did.
 * The answer links the run's page (under `publicUrl`), for the step's own summary.
 */
export function callbacksRouter(runs: RunService, publicUrl: string): Router {
  const router = Router()
  const limiter = createRateLimiter({
    limit: CALLBACKS_PER_MINUTE,
    windowMs: 60_000,
    maxKeys: 10_000,
  })
  router.post('/callbacks/:token', async (req, _res, next) => {
    const wait = limiter.take(req.params.token ?? '')
    if (wait === null) return next()
    throw problem(
      'too-many-requests',
      `This callback URL was called more than ${CALLBACKS_PER_MINUTE} times in a minute; a step reports its progress and its result, not more. Try again in ${wait} s.`,
      { headers: { 'Retry-After': String(wait) } },
    )
  })
  // The token is looked up before the body is read: an unknown one costs no more than its headers.
  router.post(
    '/callbacks/:token',
    async (req, res: Response<unknown, CallbackLocals>, next) => {
      res.locals.token = await runs.tokenFor(req.params.token ?? '')
      next()
    },
    rawBody,
    async (req, res: Response<unknown, CallbackLocals>) => {
      const { token } = res.locals
      requireMediaType(req, ['application/json'])
      const validation = validateCallback(parseJson(bodyBytes(req)))
      if (!validation.ok) {
        throw problem(
          'invalid-callback',
          `The callback does not match the schema: ${formatProblems(validation.problems)}.`,
          {
            extensions: {
              errors: validation.problems.map((p) => ({ pointer: p.pointer, detail: p.message })),
            },
          },
        )
      }
      const run = await runs.callback(token, validation.value)
      const step = stepAt(run, token.ref)
      res.status(200).json({
        run: runJson(run),
        step: step ? stepJson(step, token.ref) : null,
        run_url: `${publicUrl.replace(/\/+$/, '')}/runs/${run.id}`,
      })
    },
  )
  return router
}
