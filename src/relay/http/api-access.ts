import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { RUN_TOKEN_PREFIX } from '../runs/run-tokens.js'
import type { RunService } from '../runs/service.js'
import { offeredToken, requireAdmin } from './admin-auth.js'
import { problem } from './problem.js'

/**
 * Guards `/api`: the admin token, as everywhere, or a run token, which reads its own run
 * (`GET /api/runs/<id>`, long polls included) and nothing else.
 */
export function apiAccess(
  adminToken: string | null,
  runs: Pick<RunService, 'runForToken'>,
): RequestHandler {
  const admin = requireAdmin(adminToken)
  return async (req: Request, res: Response, next: NextFunction) => {
    const offered = offeredToken(req.headers.authorization)
    if (offered === null || !offered.startsWith(RUN_TOKEN_PREFIX)) return admin(req, res, next)
    const runId = await runs.runForToken(offered)
    if (runId === null) {
      throw problem(
        'run-token-not-accepted',
        'This run token is unknown, or its run is no longer kept: start the chain again for a new run and token.',
        { headers: { 'WWW-Authenticate': 'Bearer realm="hookchain", error="invalid_token"' } },
      )
    }
    const read = /^\/runs\/([^/]+)\/?$/.exec(req.path)
    if (!read || (req.method !== 'GET' && req.method !== 'HEAD') || read[1] !== runId) {
      throw problem(
        'outside-run-token',
        `A run token reads its own run only, with GET /api/runs/${runId}; anything else takes the admin token.`,
      )
    }
    next()
  }
}
