import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildWebhookPayload } from '../../../src/relay/deliverers/webhook-payload.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'

/** Docker Hub's documented push payload: what webhook receivers of Docker Hub's chains parse. */
const dockerHub = JSON.parse(
  readFileSync(new URL('../../fixtures/sources/dockerhub-push.json', import.meta.url), 'utf8'),
) as { push_data: Record<string, unknown>; repository: Record<string, unknown> }

const push: PushEvent = {
  source: 'distribution',
  registry: 'docker.io',
  repository: 'svendowideit/testhook',
  tag: 'latest',
  digest: 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
  pusher: 'trustedbuilder',
  pushedAt: '2014-12-03T00:36:01Z',
  callbackUrl: null,
}

const context = {
  callbackUrl: 'https://relay.example.com/callbacks/tok',
  runId: 'run-7',
  chain: 'release',
  ref: { phase: 'main', index: 3, branch: 0 } as const,
  step: 3,
  steps: 3,
  attempt: 1,
  push,
}

function typeOf(value: unknown): string {
  return Array.isArray(value) ? 'array' : typeof value
}

describe('buildWebhookPayload', () => {
  it("has Docker Hub's fields, with Docker Hub's types", () => {
    const payload = buildWebhookPayload(context)

    expect(typeof payload.callback_url).toBe('string')
    for (const part of ['push_data', 'repository'] as const) {
      for (const [key, value] of Object.entries(payload[part])) {
        expect(Object.keys(dockerHub[part]), `${part}.${key}`).toContain(key)
        expect(typeOf(value), `${part}.${key}`).toBe(typeOf(dockerHub[part][key]))
      }
    }
    expect(Object.keys(payload.push_data).sort()).toEqual(Object.keys(dockerHub.push_data).sort())
  })

  it('fills them from the push and hands the relay callback URL', () => {
    expect(buildWebhookPayload(context)).toStrictEqual({
      callback_url: 'https://relay.example.com/callbacks/tok',
      push_data: { pushed_at: 1417566961, pusher: 'trustedbuilder', tag: 'latest', images: [] },
      repository: {
        repo_name: 'svendowideit/testhook',
        name: 'testhook',
        namespace: 'svendowideit',
        owner: 'svendowideit',
        repo_url: 'https://hub.docker.com/r/svendowideit/testhook',
      },
      hookchain: {
        run_id: 'run-7',
        chain: 'release',
        step: 3,
        steps: 3,
        attempt: 1,
        image: {
          registry: 'docker.io',
          repository: 'svendowideit/testhook',
          tag: 'latest',
          digest: 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
          reference: 'docker.io/svendowideit/testhook:latest',
        },
        pushed_at: '2014-12-03T00:36:01Z',
        source: 'distribution',
      },
    })
  })

  it('names official images and other registries as Docker Hub would', () => {
    const official = buildWebhookPayload({
      ...context,
      push: { ...push, repository: 'library/ubuntu' },
    })
    const bare = buildWebhookPayload({
      ...context,
      push: { ...push, registry: '127.0.0.1:5000', repository: 'app', pusher: null, tag: null },
    })
    const nested = buildWebhookPayload({
      ...context,
      push: { ...push, registry: 'ghcr.io', repository: 'acme/team/app' },
    })

    expect(official.repository).toMatchObject({
      namespace: 'library',
      name: 'ubuntu',
      repo_url: 'https://hub.docker.com/_/ubuntu',
    })
    expect(bare.repository).toStrictEqual({
      repo_name: 'app',
      name: 'app',
      namespace: '',
      owner: '',
    })
    expect(bare.push_data).toMatchObject({ pusher: '', tag: '' })
    expect(bare.hookchain.image.reference).toBe(
      '127.0.0.1:5000/app@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
    )
    expect(nested.repository).toStrictEqual({
      repo_name: 'acme/team/app',
      name: 'app',
      namespace: 'acme/team',
      owner: 'acme',
    })
  })
})
