import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { type LoopbackServer, readBody, startLoopbackServer, waitUntil } from './loopback-server.js'
import { GITHUB_OIDC_ISSUER, verifyJobToken } from './oidc-token-stand-in.js'

// A stand-in for the relay's side of the Action's start mode, as the contract of issue #17
// gives it: POST /api/chains/<chain>/runs with the job's OIDC token, and GET /api/runs/<id>
// with the run token, long-polled with ?wait= and If-None-Match. Runs advance only when the
// test says, through update().

export interface StandInChain {
  steps: { kind: string; target: string }[]
  /** `start.repositories` of the chain; none: the chain cannot be started from a workflow. */
  startRepositories?: string[]
}

export interface StandInStep {
  index: number
  kind: string
  target: string
  state: string
  description: string | null
  context: string | null
  target_url: string | null
  started_at: string | null
  finished_at: string | null
  branches?: StandInStep[]
}

export interface StandInRun {
  id: string
  chain: string
  state: string
  image: {
    registry: string
    repository: string
    tag: string | null
    digest: string | null
    reference: string
  }
  source: { repository: string; sha: string }
  created_at: string
  finished_at: string | null
  steps: StandInStep[]
}

export interface RecordedRequest {
  method: string
  /** Path and query. */
  path: string
  headers: IncomingHttpHeaders
  body: string
}

export interface ChainRelayStandIn {
  /** `http://127.0.0.1:<port>`; the same after a restart. */
  url: string
  requests: RecordedRequest[]
  runs: StandInRun[]
  /** Changes a run (the test's part of the relay's engine), and answers the polls held on it. */
  update(runId: string, change: (run: StandInRun) => void): void
  /** Resolves once a run was started. */
  waitForRun(timeoutMs?: number): Promise<StandInRun>
  /** Resolves once `count` polls in all were held (sent with If-None-Match, to wait for a change). */
  waitForHeldPolls(count: number, timeoutMs?: number): Promise<void>
  /** The next `count` requests get this status, as a relay in trouble or behind a proxy answers. */
  failNext(count: number, status: number): void
  /** Closes the server and every connection, polls held included; the runs are kept. */
  stop(): Promise<void>
  /** Listens again, on the same port. */
  start(): Promise<void>
}

const FINAL_RUN_STATES = ['success', 'failure', 'error', 'cancelled']

export async function startChainRelayStandIn(options: {
  chains: Record<string, StandInChain>
  /** The key of the OIDC token stand-in, which stands for GitHub's signing keys. */
  signingKey: string
  audience?: string
}): Promise<ChainRelayStandIn> {
  const audience = options.audience ?? 'hookchain'
  const requests: RecordedRequest[] = []
  const runs: StandInRun[] = []
  const tokens = new Map<string, string>()
  const versions = new Map<string, number>()
  const listeners = new Set<() => void>()
  const failures: number[] = []
  let heldPolls = 0
  let server: LoopbackServer
  const changed = () => {
    for (const listener of listeners) listener()
  }

  const problem = (response: ServerResponse, status: number, title: string, detail: string) => {
    response.writeHead(status, { 'content-type': 'application/problem+json' })
    response.end(JSON.stringify({ type: `urn:hookchain:problem:stand-in`, title, status, detail }))
  }
  const etagOf = (run: StandInRun) => `"${run.id}-${versions.get(run.id) ?? 0}"`
  const sendRun = (response: ServerResponse, run: StandInRun) => {
    response.writeHead(200, { 'content-type': 'application/json', etag: etagOf(run) })
    response.end(JSON.stringify(run))
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = (await readBody(request)).toString('utf8')
    requests.push({
      method: request.method ?? '',
      path: request.url ?? '',
      headers: request.headers,
      body,
    })
    const status = failures.shift()
    if (status !== undefined) {
      problem(response, status, 'Unavailable', 'Try again.')
      return
    }
    const url = new URL(request.url ?? '/', 'http://stand-in')
    const start = /^\/api\/chains\/([^/]+)\/runs$/.exec(url.pathname)
    const read = /^\/api\/runs\/([^/]+)$/.exec(url.pathname)
    if (start && request.method === 'POST') {
      startRun(request, response, decodeURIComponent(start[1] ?? ''), body)
    } else if (read && request.method === 'GET') {
      readRun(request, response, decodeURIComponent(read[1] ?? ''), url)
    } else {
      problem(response, 404, 'Not Found', `No route for ${request.method} ${url.pathname}.`)
    }
  }

  function startRun(
    request: IncomingMessage,
    response: ServerResponse,
    chainName: string,
    body: string,
  ): void {
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    const claims = bearer ? verifyJobToken(bearer, options.signingKey) : null
    if (
      !claims ||
      claims.iss !== GITHUB_OIDC_ISSUER ||
      claims.aud !== audience ||
      claims.exp * 1000 < Date.now()
    ) {
      const why = claims ? `its audience must be "${audience}"` : 'it is not a GitHub OIDC token'
      problem(response, 401, 'Unauthorized', `The token was not accepted: ${why}.`)
      return
    }
    const chain = options.chains[chainName]
    if (!chain) {
      problem(response, 404, 'Not Found', `No chain is named "${chainName}".`)
      return
    }
    if (!chain.startRepositories) {
      problem(response, 403, 'Forbidden', `Chain "${chainName}" has no start.`)
      return
    }
    if (!chain.startRepositories.includes(claims.repository)) {
      problem(
        response,
        403,
        'Forbidden',
        `${claims.repository} may not start chain "${chainName}": it is not in its start.repositories.`,
      )
      return
    }
    if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) {
      problem(response, 415, 'Unsupported Media Type', 'Send application/json.')
      return
    }
    let input: { image?: unknown; source?: { repository?: unknown; sha?: unknown } }
    try {
      input = JSON.parse(body)
    } catch {
      problem(response, 400, 'Bad Request', 'The body is not JSON.')
      return
    }
    const image = typeof input.image === 'string' ? parseReference(input.image) : null
    if (!image) {
      problem(response, 422, 'Unprocessable Content', '/image must be an image reference.')
      return
    }
    const { repository, sha } = input.source ?? {}
    if (repository !== claims.repository || sha !== claims.sha) {
      problem(
        response,
        422,
        'Unprocessable Content',
        '/source must be the repository and commit of the token.',
      )
      return
    }
    const now = new Date().toISOString()
    const run: StandInRun = {
      id: `run_${randomBytes(6).toString('hex')}`,
      chain: chainName,
      state: 'running',
      image,
      source: { repository, sha },
      created_at: now,
      finished_at: null,
      steps: chain.steps.map((step, i) => ({
        index: i + 1,
        kind: step.kind,
        target: step.target,
        state: 'queued',
        description: null,
        context: null,
        target_url: null,
        started_at: null,
        finished_at: null,
      })),
    }
    const runToken = `rt_${randomBytes(16).toString('hex')}`
    runs.push(run)
    tokens.set(run.id, runToken)
    versions.set(run.id, 1)
    changed()
    response.writeHead(201, { 'content-type': 'application/json', location: `/api/runs/${run.id}` })
    response.end(JSON.stringify({ run, url: `${server.url}/runs/${run.id}`, run_token: runToken }))
  }

  function readRun(
    request: IncomingMessage,
    response: ServerResponse,
    runId: string,
    url: URL,
  ): void {
    const run = runs.find((r) => r.id === runId)
    const bearer = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (!run || bearer !== tokens.get(run.id)) {
      problem(response, 401, 'Unauthorized', 'The run token is not valid for this run.')
      return
    }
    const rawWait = url.searchParams.get('wait')
    const wait = rawWait === null ? 0 : Number(rawWait)
    if (rawWait !== null && (!Number.isInteger(wait) || wait < 1 || wait > 60)) {
      problem(
        response,
        400,
        'Invalid query parameter',
        'Query parameter "wait" must be a whole number from 1 to 60.',
      )
      return
    }
    if (wait === 0 || request.headers['if-none-match'] !== etagOf(run)) {
      sendRun(response, run)
      return
    }
    // Held until the run changes or the wait ends, then answered with the run as it is.
    const seen = etagOf(run)
    const answer = () => {
      clearTimeout(timer)
      listeners.delete(onChange)
      if (!response.destroyed) sendRun(response, run)
    }
    const onChange = () => {
      if (etagOf(run) !== seen) answer()
    }
    const timer = setTimeout(answer, wait * 1000)
    response.on('close', () => {
      clearTimeout(timer)
      listeners.delete(onChange)
    })
    listeners.add(onChange)
    heldPolls += 1
    changed()
  }

  server = await startLoopbackServer(handle)
  const { port } = server
  return {
    url: server.url,
    requests,
    runs,
    update(runId, change) {
      const run = runs.find((r) => r.id === runId)
      if (!run) throw new Error(`no run ${runId}`)
      change(run)
      if (FINAL_RUN_STATES.includes(run.state)) run.finished_at ??= new Date().toISOString()
      versions.set(runId, (versions.get(runId) ?? 0) + 1)
      changed()
    },
    waitForRun(timeoutMs = 10_000) {
      return waitUntil(
        () => runs[0],
        subscribe(listeners),
        timeoutMs,
        () => 'no run was started',
      )
    },
    async waitForHeldPolls(count, timeoutMs = 10_000) {
      await waitUntil(
        () => (heldPolls >= count ? true : undefined),
        subscribe(listeners),
        timeoutMs,
        () => `${heldPolls} of ${count} polls were held`,
      )
    },
    failNext(count, status) {
      for (let i = 0; i < count; i++) failures.push(status)
    },
    stop: () => server.close(),
    async start() {
      server = await startLoopbackServer(handle, { port })
    },
  }
}

function subscribe(listeners: Set<() => void>) {
  return (listener: () => void) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  }
}

/** `registry/repository[:tag][@digest]`, with Docker Hub's defaults; null when it is not one. */
function parseReference(reference: string): StandInRun['image'] | null {
  const match =
    /^(?:([a-z0-9.-]+(?::\d+)?|localhost)\/)?([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?(?:@([a-z0-9]+:[a-f0-9]{32,}))?$/.exec(
      reference,
    )
  if (!match || (!match[3] && !match[4])) return null
  const [, host, path = '', tag = null, digest = null] = match
  const registry = host && /[.:]|^localhost$/.test(host) ? host : 'docker.io'
  const repository = host && registry === 'docker.io' ? `${host}/${path}` : path
  return { registry, repository, tag, digest, reference }
}
