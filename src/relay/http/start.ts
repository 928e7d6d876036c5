import { createHash } from 'node:crypto'
import { Ajv, type JSONSchemaType } from 'ajv'
import { type Request, type Response, Router } from 'express'
import type { JWTPayload } from 'jose'
import { DEFAULT_OIDC_AUDIENCE, DEFAULT_OIDC_ISSUER } from '../config/schema.js'
import type { Chain, ServedSettings } from '../config/settings.js'
import { oidcVerifier } from '../identity/oidc-verifier.js'
import { IdentityUnavailable, TokenRejected } from '../identity/verification-errors.js'
import { newId } from '../ids.js'
import { globMatcher } from '../model/glob.js'
import type { RunOrigin, SourceCommit } from '../model/run.js'
import type { RunService } from '../runs/service.js'
import { COMMIT_SHA } from '../runs/source-commit.js'
import { IMAGE_REFERENCE_MAX, parseImageReference } from '../sources/image-reference.js'
import { adminName, isAdminRequest, offeredToken } from './admin-auth.js'
import { bodyBytes, parseJson, rawBody, requireMediaType } from './body.js'
import { githubWebUrl, refuseCrossSite } from './browser-guard.js'
import { problem } from './problem.js'
import { runEtag, runJson } from './representation.js'

export interface StartDeps {
  runs: Pick<RunService, 'start' | 'issueRunToken'>
  settings: ServedSettings
  now: () => Date
}

/** The body of `POST /api/chains/<name>/runs`. */
interface StartBody {
  image: string
  source?: { repository: string; sha: string }
}

const startSchema: JSONSchemaType<StartBody> = {
  type: 'object',
  properties: {
    image: { type: 'string', minLength: 1, maxLength: IMAGE_REFERENCE_MAX },
    source: {
      type: 'object',
      properties: {
        repository: {
          type: 'string',
          maxLength: 140,
          pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$',
        },
        sha: { type: 'string', pattern: COMMIT_SHA.source },
      },
      required: ['repository', 'sha'],
      additionalProperties: false,
      nullable: true,
    },
  },
  required: ['image'],
  additionalProperties: false,
}
const validateStart = new Ajv({ allErrors: true }).compile(startSchema)

/** A GitHub OIDC token: three base64url parts; anything else offered is taken for the admin token. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/** Who asks to start a chain. */
type Caller = { kind: 'admin'; by: string } | { kind: 'workflow'; claims: WorkflowClaims }

interface StartLocals {
  caller: Caller
}

/** The claims of a GitHub Actions job token that the relay reads. */
interface WorkflowClaims {
  repository: string
  sha: string
  jti: string | null
  runId: string | null
  runAttempt: string | null
  workflowRef: string | null
  actor: string | null
}

/**
 * `POST /api/chains/<name>/runs`: starts a chain for an image, for the admin or for a workflow
 * that proves who it is with its job's GitHub OIDC token, and answers the run with a token that
 * reads it. Mounted before the admin guard of /api, with its own.
 */
export function startRouter(deps: StartDeps): Router {
  const { settings } = deps
  const router = Router()
  const oidc = settings.github.oidc ?? {
    issuer: DEFAULT_OIDC_ISSUER,
    audience: DEFAULT_OIDC_AUDIENCE,
  }
  const webUrl = githubWebUrl(settings.github.apiUrl)

  router.post(
    '/api/chains/:name/runs',
    refuseCrossSite(settings.publicUrl, { json: true }),
    // Who calls is known from the headers: the body of a caller without a token is not read.
    async (req, res: Response<unknown, StartLocals>, next) => {
      res.locals.caller = await callerOf(req, settings.adminToken, oidc)
      next()
    },
    rawBody,
    async (req, res: Response<unknown, StartLocals>) => {
      const { caller } = res.locals
      const name = String(req.params.name)
      const chain = settings.chains.find((c) => c.name === name)
      if (!chain) {
        const known = caller.kind === 'admin' ? settings.chains.map((c) => c.name) : []
        throw problem(
          'chain-not-found',
          `No chain is named "${name.slice(0, 100)}" in the relay config${
            known.length ? `; its chains are ${known.join(', ')}` : ''
          }.`,
        )
      }
      if (caller.kind === 'workflow') allowWorkflow(chain, caller.claims.repository)

      requireMediaType(req, ['application/json'])
      const body = readBody(parseJson(bodyBytes(req)))
      const parsed = parseImageReference(body.image.trim())
      if ('problem' in parsed) throw invalid('/image', `"image" ${parsed.problem}.`)

      let sourceCommit: SourceCommit | null = body.source
        ? { repository: body.source.repository, sha: body.source.sha, from: 'start-request' }
        : null
      let origin: RunOrigin
      let requestId: string
      if (caller.kind === 'workflow') {
        const { claims } = caller
        if (
          body.source &&
          (body.source.repository.toLowerCase() !== claims.repository.toLowerCase() ||
            body.source.sha !== claims.sha)
        ) {
          throw invalid(
            '/source',
            `"source" must be the repository and commit of the workflow run that the token is for (${claims.repository} at ${claims.sha}), or be left out.`,
          )
        }
        sourceCommit = { repository: claims.repository, sha: claims.sha, from: 'start-request' }
        origin = {
          kind: 'workflow',
          repository: claims.repository,
          sha: claims.sha,
          url:
            claims.runId === null
              ? null
              : `${webUrl}/${claims.repository}/actions/runs/${claims.runId}${
                  claims.runAttempt ? `/attempts/${claims.runAttempt}` : ''
                }`,
          workflowRef: claims.workflowRef,
          actor: claims.actor,
        }
        // The Action sends the same token again when an answer is lost: one run for it.
        requestId = `oidc:${digest([claims.jti ?? tokenHash(req), name, body.image, claims.sha])}`
      } else {
        origin = { kind: 'admin', by: caller.by }
        requestId = `admin:${newId()}`
      }

      const { run, duplicate } = await deps.runs.start({
        chain,
        image: parsed,
        sourceCommit,
        origin,
        requestId,
        payload: bodyBytes(req).toString('utf8'),
        receivedAt: deps.now(),
      })
      const runToken = await deps.runs.issueRunToken(run.id)
      res
        .status(duplicate ? 200 : 201)
        .set({ Location: `/api/runs/${run.id}`, ETag: runEtag(run) })
        .json({
          run: runJson(run),
          url: `${settings.publicUrl}/runs/${run.id}`,
          run_token: runToken,
        })
    },
  )
  return router
}

/** The admin, or a workflow whose OIDC token verifies; refused otherwise. */
async function callerOf(
  req: Request,
  adminToken: string | null,
  oidc: { issuer: string; audience: string },
): Promise<Caller> {
  const offered = offeredToken(req.headers.authorization)
  const jwt =
    offered !== null && JWT_SHAPE.test(offered) && /^bearer /i.test(req.headers.authorization ?? '')
  // Without an admin token, a loopback request is the admin's, unless it brings a job's token.
  if ((!jwt || adminToken !== null) && isAdminRequest(req, adminToken)) {
    return { kind: 'admin', by: adminName(req) }
  }
  if (jwt) return { kind: 'workflow', claims: await verifiedClaims(offered, oidc) }
  throw problem(
    'token-not-accepted',
    offered === null
      ? 'Send the job\'s GitHub OIDC token as "Authorization: Bearer <token>" (the hookchain Action\'s start mode does, with permissions: id-token: write), or the admin token.'
      : 'The token is neither a GitHub OIDC token nor the admin token of the relay config.',
    { headers: { 'WWW-Authenticate': 'Bearer realm="hookchain"' } },
  )
}

async function verifiedClaims(
  token: string,
  oidc: { issuer: string; audience: string },
): Promise<WorkflowClaims> {
  let claims: JWTPayload
  try {
    claims = await oidcVerifier(oidc.issuer, oidc.audience).verify(token)
  } catch (error) {
    if (error instanceof IdentityUnavailable) {
      throw problem(
        'identity-unavailable',
        `The relay could not check the OIDC token, so no chain was started: ${error.message}. Try again later.`,
        { headers: { 'Retry-After': String(Math.max(1, Math.ceil(error.retryAfterSeconds))) } },
      )
    }
    if (!(error instanceof TokenRejected)) throw error
    const hint =
      error.problem === 'audience'
        ? `; its audience must be "${oidc.audience}" (github.oidc.audience in the relay config)`
        : error.problem === 'issuer'
          ? ' (github.oidc.issuer in the relay config)'
          : ''
    throw problem('token-not-accepted', `The token was not accepted: ${error.message}${hint}.`, {
      headers: { 'WWW-Authenticate': 'Bearer realm="hookchain", error="invalid_token"' },
    })
  }
  const text = (name: string): string | null => {
    const value = claims[name]
    return typeof value === 'string' && value !== '' && value.length <= 300 ? value : null
  }
  const repository = text('repository')
  const sha = text('sha')
  if (repository === null || sha === null || !COMMIT_SHA.test(sha)) {
    throw problem(
      'token-not-accepted',
      'The token was not accepted: it has no "repository" and "sha" claims of a GitHub Actions job; send the token of the job that built the image.',
      { headers: { 'WWW-Authenticate': 'Bearer realm="hookchain", error="invalid_token"' } },
    )
  }
  return {
    repository,
    sha,
    jti: text('jti'),
    runId: /^[0-9]{1,20}$/.test(text('run_id') ?? '') ? text('run_id') : null,
    runAttempt: /^[0-9]{1,5}$/.test(text('run_attempt') ?? '') ? text('run_attempt') : null,
    workflowRef: text('job_workflow_ref') ?? text('workflow_ref'),
    actor: text('actor'),
  }
}

/** A workflow may start a chain whose `start.repositories` names its repository. */
function allowWorkflow(chain: Chain, repository: string): void {
  if (!chain.start) {
    throw problem(
      'chain-not-startable',
      `Chain "${chain.name}" has no start, so no workflow may start it: add start: { repositories: [${repository}] } to it in the relay config.`,
    )
  }
  const allowed = chain.start.repositories.some((glob) =>
    globMatcher(glob, { nocase: true })(repository),
  )
  if (!allowed) {
    throw problem(
      'repository-not-allowed',
      `${repository} may not start chain "${chain.name}": it is not in the chain's start.repositories; add it there in the relay config.`,
    )
  }
}

function readBody(value: unknown): StartBody {
  if (validateStart(value)) return value
  const errors = (validateStart.errors ?? []).map((e) => {
    const pointer =
      e.keyword === 'required'
        ? `${e.instancePath}/${String(e.params.missingProperty)}`
        : e.keyword === 'additionalProperties'
          ? `${e.instancePath}/${String(e.params.additionalProperty)}`
          : e.instancePath || '/'
    const detail =
      e.keyword === 'required'
        ? 'is required'
        : e.keyword === 'additionalProperties'
          ? 'is not a field of a start request (image, source)'
          : e.keyword === 'pattern'
            ? pointer.endsWith('/sha')
              ? 'must be a commit SHA: 40 hex digits'
              : 'must be a repository as owner/name'
            : (e.message ?? 'is not valid')
    return { pointer, detail }
  })
  throw problem(
    'invalid-start',
    `The start request is not valid: ${errors.map((e) => `${e.pointer} ${e.detail}`).join('; ')}. Send { "image": "<reference>", "source": { "repository": "owner/name", "sha": "<commit>" } }.`,
    { extensions: { errors } },
  )
}

function invalid(pointer: string, detail: string) {
  return problem('invalid-start', detail, { extensions: { errors: [{ pointer, detail }] } })
}

function digest(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex')
}

function tokenHash(req: Request): string {
  return digest([req.headers.authorization ?? ''])
}
