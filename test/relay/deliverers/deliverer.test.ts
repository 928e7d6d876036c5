import { pino } from 'pino'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Settings } from '../../../src/relay/config/settings.js'
import type { StepContext } from '../../../src/relay/deliverers/client-payload.js'
import { createDeliverer } from '../../../src/relay/deliverers/deliverer.js'
import { imageOf, type Run, type Step } from '../../../src/relay/model/run.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'

const push: PushEvent = {
  source: 'dockerhub',
  registry: 'docker.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: 'ci-bot',
  pushedAt: '2026-11-26T21:31:57Z',
  callbackUrl: null,
}

let github: GitHubStandIn
let receiver: HttpReceiver

beforeEach(async () => {
  github = await startGitHubStandIn()
  receiver = await startHttpReceiver()
})
afterEach(async () => {
  await Promise.all([github.close(), receiver.close()])
})

function settings(secret: string | null = 'hook-secret'): Settings {
  return {
    publicUrl: 'https://relay.example.com',
    adminToken: null,
    github: {
      apiUrl: github.url,
      auth: { kind: 'token', token: STAND_IN_TOKEN },
      writesPerMinute: 0,
    },
    sources: {},
    sourceBlocks: {},
    registryCallbacks: { allowedHosts: ['127.0.0.1'], allowHttp: true },
    secrets: [],

    chains: [
      {
        name: 'release',
        match: { repository: 'acme/app', tags: null },
        stepTimeoutMs: 60_000,
        onFailure: [],
        notify: [],
        steps: [
          { kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' },
          { kind: 'webhook', url: `${receiver.url}/hook`, secret },
        ],
      },
    ],
    retentionMs: null,
    rejectedPayloadMs: 7 * 86_400_000,
    runsPerDelivery: 100,
    metricsRequireAdmin: false,
  }
}

function step(
  index: number,
  kind: Step['kind'],
  target: string,
  eventType: string | null = null,
): Step {
  return {
    index,
    kind,
    target,
    eventType,
    state: 'dispatching',
    description: null,
    context: null,
    targetUrl: null,
    generation: 1,
    startedAt: null,
    dispatchedAt: null,
    finishedAt: null,
    deadline: null,
    timeoutMs: null,
    callbacksDropped: 0,
    require: null,
    branches: [],
    decision: null,
  }
}

function run(): Run {
  return {
    id: 'run-1',
    eventId: 'event-1',
    chain: 'release',
    source: 'dockerhub',
    push,
    image: imageOf(push),
    state: 'running',
    stepTimeoutMs: 60_000,
    createdAt: '2026-11-26T21:32:00Z',
    finishedAt: null,
    version: 1,
    attempt: 1,
    steps: [
      step(1, 'dispatch', 'acme/tests', 'image-pushed'),
      step(2, 'webhook', `${receiver.url}/hook`),
    ],
    onFailure: [],
    sourceCommit: null,
    origin: null,
    notes: [],
  }
}

const logger = pino({ level: 'silent' })

/** Where step `index` of `run()` stands, with `callbackUrl` as its callback URL. */
function contextOf(index: number, callbackUrl: string): StepContext {
  const current = run()
  return {
    callbackUrl,
    runId: current.id,
    chain: current.chain,
    ref: { phase: 'main', index, branch: 0 },
    step: index,
    steps: current.steps.length,
    attempt: 1,
    push,
  }
}

function stepOf(index: number): Step {
  return run().steps[index - 1] as Step
}

describe('createDeliverer', () => {
  it('dispatches a dispatch step with its client_payload', async () => {
    const deliverer = createDeliverer(settings(), { logger })

    const outcome = await deliverer.send(
      stepOf(1),
      contextOf(1, 'https://relay.example.com/callbacks/t1'),
    )

    expect(outcome.kind).toBe('delivered')
    expect(github.dispatches).toMatchObject([
      {
        repository: 'acme/tests',
        eventType: 'image-pushed',
        clientPayload: {
          callback_url: 'https://relay.example.com/callbacks/t1',
          run_id: 'run-1',
          chain: 'release',
          step: 1,
          steps: 2,
          image: { reference: 'docker.io/acme/app:v1.2.0' },
          source: 'dockerhub',
        },
      },
    ])
  })

  it('sends a webhook step signed with the secret from the config', async () => {
    const deliverer = createDeliverer(settings(), { logger })

    const outcome = await deliverer.send(
      stepOf(2),
      contextOf(2, 'https://relay.example.com/callbacks/t2'),
    )

    expect(outcome.kind).toBe('delivered')
    const [request] = receiver.requests
    const verified = new Webhook(Buffer.from('hook-secret'), { format: 'raw' }).verify(
      request?.rawBody ?? '',
      request?.headers as Record<string, string>,
    )
    expect(verified).toMatchObject({
      callback_url: 'https://relay.example.com/callbacks/t2',
      repository: { repo_name: 'acme/app' },
      hookchain: { run_id: 'run-1', step: 2, steps: 2 },
    })
  })

  it('keeps the webhook message id across new callback tokens of the same step', async () => {
    const deliverer = createDeliverer(settings(null), { logger })

    await deliverer.send(stepOf(2), contextOf(2, 'https://relay.example.com/callbacks/a'))
    await deliverer.send(stepOf(2), contextOf(2, 'https://relay.example.com/callbacks/b'))

    const [first, second] = receiver.requests.map((r) => r.headers['webhook-id'])
    expect(first).toBe(second)
    expect(receiver.requests[0]?.headers['webhook-signature']).toBeUndefined()
  })

  it('does not send a webhook step the config no longer has', async () => {
    const changed = settings()
    changed.chains = []

    const outcome = await createDeliverer(changed, { logger }).send(
      stepOf(2),
      contextOf(2, 'https://r/c/t'),
    )

    expect(outcome.kind === 'failed' && outcome.error).toMatch(
      /no longer a webhook to this URL in the relay config/,
    )
    expect(receiver.requests).toHaveLength(0)
  })

  it('calls a registry back only as registry_callbacks allow', async () => {
    const deliverer = createDeliverer(settings(), { logger })
    const result = { state: 'success', description: '2 of 2 steps succeeded' } as const

    const allowed = await deliverer.registry(`${receiver.url}/cb`, result)
    const refused = await deliverer.registry('https://registry.evil.com/cb', result)

    expect(allowed.kind).toBe('delivered')
    expect(refused.kind).toBe('failed')
    expect(receiver.requests.map((r) => r.body)).toEqual([result])
  })

  it('reports the rate limit GitHub announces', async () => {
    const seen: number[] = []
    const deliverer = createDeliverer(settings(), {
      logger,
      onRateLimit: (remaining) => seen.push(remaining),
    })
    await deliverer.send(stepOf(1), contextOf(1, 'https://relay.example.com/callbacks/t1'))

    expect(seen).toEqual([4999])
  })
})

describe('createDeliverer, for the webhooks of a parallel group and of on_failure', () => {
  const secrets = {
    '2.1': 'first-branch-secret-0123',
    '2.2': 'second-branch-secret-0123',
    'on_failure.1': 'rollback-hook-secret-0123',
  }

  /** `release`: a dispatch, then a group of two webhooks; a webhook as its rollback. */
  function grouped(): Settings {
    const base = settings()
    base.chains = [
      {
        ...(base.chains[0] as Settings['chains'][number]),
        steps: [
          { kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' },
          {
            kind: 'parallel',
            require: 'all',
            branches: [
              { kind: 'webhook', url: `${receiver.url}/first`, secret: secrets['2.1'] },
              { kind: 'webhook', url: `${receiver.url}/second`, secret: secrets['2.2'] },
            ],
          },
        ],
        onFailure: [
          { kind: 'webhook', url: `${receiver.url}/rollback`, secret: secrets['on_failure.1'] },
        ],
      },
    ]
    return base
  }

  const places = [
    ['2.1', { phase: 'main', index: 2, branch: 1 }, 1, '/first'],
    ['2.2', { phase: 'main', index: 2, branch: 2 }, 2, '/second'],
    ['on_failure.1', { phase: 'on_failure', index: 1, branch: 0 }, 1, '/rollback'],
  ] as const

  it('signs each with its own secret from the config, under a message id of its own', async () => {
    const deliverer = createDeliverer(grouped(), { logger })
    for (const [name, ref, index, path] of places) {
      const outcome = await deliverer.send(step(index, 'webhook', `${receiver.url}${path}`), {
        ...contextOf(1, `https://relay.example.com/callbacks/${index}`),
        step: name,
        ref,
      })
      expect(outcome, name).toMatchObject({ kind: 'delivered' })
    }

    expect(receiver.requests.map((r) => r.path)).toEqual(['/first', '/second', '/rollback'])
    receiver.requests.forEach((request, i) => {
      const [name] = places[i] ?? []
      const signer = new Webhook(Buffer.from(secrets[name as keyof typeof secrets]), {
        format: 'raw',
      })
      const verified = signer.verify(
        request.rawBody.toString('utf8'),
        request.headers as Record<string, string>,
      )
      expect(verified).toMatchObject({ hookchain: { step: name } })
    })
    // Branch 2.1 and on_failure.1 share index 1 and generation 1, but not their message id.
    const ids = receiver.requests.map((r) => r.headers['webhook-id'])
    expect(new Set(ids).size).toBe(3)
  })
})
