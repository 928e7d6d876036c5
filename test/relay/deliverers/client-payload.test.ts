import { describe, expect, it } from 'vitest'
import {
  buildClientPayload,
  checkDispatchRequest,
} from '../../../src/relay/deliverers/client-payload.js'
import { imageOf } from '../../../src/relay/model/run.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'

const push: PushEvent = {
  source: 'dockerhub',
  registry: 'docker.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
  pusher: 'trustedbuilder',
  pushedAt: '2026-11-26T21:31:57Z',
  callbackUrl: 'https://registry.hub.docker.com/u/acme/app/hook/1/',
}

describe('buildClientPayload', () => {
  it("produces DESIGN.md's client_payload", () => {
    const payload = buildClientPayload({
      callbackUrl: 'https://relay.example.com/callbacks/tok',
      runId: 'run-1',
      chain: 'release',
      ref: { phase: 'main', index: 1, branch: 0 },
      step: 1,
      steps: 3,
      attempt: 1,
      push,
    })

    expect(payload).toStrictEqual({
      callback_url: 'https://relay.example.com/callbacks/tok',
      run_id: 'run-1',
      chain: 'release',
      step: 1,
      steps: 3,
      image: {
        registry: 'docker.io',
        repository: 'acme/app',
        tag: 'v1.2.0',
        digest: 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
        reference: 'docker.io/acme/app:v1.2.0',
      },
      pusher: 'trustedbuilder',
      pushed_at: '2026-11-26T21:31:57Z',
      attempt: 1,
      source: 'dockerhub',
    })
    expect(checkDispatchRequest('image-pushed', payload)).toBeNull()
  })

  it.each([
    [{ tag: 'latest' }, 'docker.io/acme/app:latest'],
    [
      { tag: null },
      'docker.io/acme/app@sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108',
    ],
    [{ registry: '127.0.0.1:5000', tag: 'v1' }, '127.0.0.1:5000/acme/app:v1'],
    [
      { registry: 'ghcr.io', repository: 'acme/team/app', tag: 'main' },
      'ghcr.io/acme/team/app:main',
    ],
    [{ tag: null, digest: null }, 'docker.io/acme/app'],
  ])('names the image %o as %s', (change, reference) => {
    expect(imageOf({ ...push, ...change }).reference).toBe(reference)
  })
})

describe('checkDispatchRequest', () => {
  it('accepts an event type of 1 to 100 characters', () => {
    expect(checkDispatchRequest('a', {})).toBeNull()
    expect(checkDispatchRequest('é'.repeat(100), {})).toBeNull()
  })

  it('refuses an empty or overlong event type', () => {
    expect(checkDispatchRequest('', {})).toBe(
      'event_type is empty; GitHub needs 1 to 100 characters',
    )
    expect(checkDispatchRequest('x'.repeat(101), {})).toBe(
      "event_type is 101 characters; GitHub accepts at most 100: shorten the step's event_type",
    )
  })

  it('refuses more than 10 top-level keys, naming them', () => {
    const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]))

    expect(checkDispatchRequest('e', ten)).toBeNull()
    expect(checkDispatchRequest('e', { ...ten, extra: 1 })).toBe(
      'client_payload has 11 top-level keys (k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, extra); GitHub accepts at most 10',
    )
  })

  it('refuses a payload of 64 KB or more', () => {
    const sized = (bytes: number) => ({ pad: 'x'.repeat(bytes - '{"pad":""}'.length) })

    expect(checkDispatchRequest('e', sized(65_535))).toBeNull()
    expect(checkDispatchRequest('e', sized(65_536))).toBe(
      'client_payload is 65536 bytes as JSON; GitHub accepts less than 64 KB (65536 bytes)',
    )
  })

  it('reports every problem at once', () => {
    expect(checkDispatchRequest('', [])).toBe(
      'event_type is empty; GitHub needs 1 to 100 characters; client_payload must be a JSON object',
    )
  })
})
