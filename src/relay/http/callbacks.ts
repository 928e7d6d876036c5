import { Router } from 'express'
import { formatProblems, validateCallback } from '../../shared/callback.js'
import type { RunService } from '../runs/service.js'
import { bodyBytes, parseJson, rawBody, requireMediaType } from './body.js'
import { problem } from './problem.js'
import { runJson, stepJson } from './representation.js'

/** `POST /callbacks/<token>`: a step reports its result, as Docker Hub's callback validation did. */
export function callbacksRouter(runs: RunService): Router {
  const router = Router()
  router.post('/callbacks/:token', rawBody, async (req, res) => {
    const token = await runs.tokenFor(req.params.token ?? '')
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
    const step = run.steps[token.step - 1]
    res.status(200).json({ run: runJson(run), step: step ? stepJson(step) : null })
  })
  return router
}
