import { createHmac, randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { openApiChecker } from '../../support/openapi-check.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay-harness.js'

const spec = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url))

let github: GitHubStandIn
let t: TestRelay
const checker = openApiChecker(spec)

beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url))
})
afterAll(async () => {
  await t.close()
  await github.close()
})

const admin = { authorization: `Bearer ${SECRETS.admin}` }

async function call(
  method: string,
  path: string,
  init: { body?: string; headers?: Record<string, string> } = {},
) {
  const url = path.startsWith('http') ? path : `${t.url}${path}`
  const response = await fetch(url, { method, body: init.body, headers: init.headers })
  const status = response.status
  return { status, body: (await checker.check(method, url, response)) as Record<string, unknown> }
}

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  body: typeof body === 'string' ? body : JSON.stringify(body),
  headers: { 'content-type': 'application/json', ...headers },
})

describe('the relay keeps to openapi.yaml', () => {
  it('in every answer of a realistic session, on every documented operation', async () => {
    // A push starts a run; its steps report pending, success, failure; a late report is refused.
    const pushed = await call(
      'POST',
      `/hooks/dockerhub/${SECRETS.dockerhub}`,
      json(fixture('dockerhub-push.json')),
    )
    expect(pushed.status).toBe(202)
    const runId = (pushed.body.runs as string[])[0] as string
    const callbackOf = async (step: number, count = 1) => {
      const dispatches = await eventually(() => {
        const found = github.dispatches.filter(
          (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
        )
        return found.length >= count ? found : undefined
      })
      return t.local(String(dispatches.at(-1)?.clientPayload?.callback_url))
    }
    const first = await callbackOf(1)
    expect(
      (
        await call(
          'POST',
          first,
          json({ state: 'pending', target_url: 'https://ci.example.com/1' }),
        )
      ).status,
    ).toBe(200)
    expect(
      (await call('POST', first, json({ state: 'success', description: '387 tests PASSED' })))
        .status,
    ).toBe(200)
    const second = await callbackOf(2)
    expect((await call('POST', second, json({ state: 'failure' }))).status).toBe(200)
    expect((await call('POST', second, json({ state: 'success' }))).status).toBe(409)
    expect((await call('POST', second, json({ state: 'done' }))).status).toBe(422)
    expect(
      (await call('POST', second, { body: 'success', headers: { 'content-type': 'text/plain' } }))
        .status,
    ).toBe(415)
    expect(
      (await call('POST', `${t.url}/callbacks/${'x'.repeat(43)}`, json({ state: 'success' })))
        .status,
    ).toBe(404)
    expect((await call('POST', second, json('{"state":'))).status).toBe(400)

    // History, retry and redelivery.
    expect((await call('GET', '/api/runs?limit=1', { headers: admin })).status).toBe(200)
    expect((await call('GET', '/api/runs?state=finished', { headers: admin })).status).toBe(400)
    expect((await call('GET', '/api/runs')).status).toBe(401)
    expect((await call('GET', `/api/runs/${runId}`, { headers: admin })).status).toBe(200)
    expect((await call('GET', '/api/runs/nope', { headers: admin })).status).toBe(404)
    expect((await call('POST', `/api/runs/${runId}/retry`, { headers: admin })).status).toBe(202)
    expect((await call('POST', `/api/runs/${runId}/retry`, { headers: admin })).status).toBe(409)
    const retried = await callbackOf(2, 2)
    expect((await call('POST', retried, json({ state: 'success' }))).status).toBe(200)
    const events = await call('GET', '/api/events', { headers: admin })
    const eventId = (events.body.events as { id: string }[])[0]?.id as string
    expect((await call('GET', `/api/events/${eventId}`, { headers: admin })).status).toBe(200)
    expect(
      (await call('POST', `/api/events/${eventId}/redeliver`, { headers: admin })).status,
    ).toBe(202)

    // Every source, and what a registry can get wrong.
    const blob = fixture('distribution-blob-push.json')
    const distribution = {
      authorization: `Bearer ${SECRETS.distribution}`,
      'content-type': 'application/vnd.docker.distribution.events.v1+json',
    }
    expect(
      (await call('POST', '/hooks/distribution', { body: blob, headers: distribution })).status,
    ).toBe(202)
    const pkg = fixture('github-registry-package-published.json')
    const signature = `sha256=${createHmac('sha256', SECRETS.github).update(pkg).digest('hex')}`
    const githubHeaders = {
      'x-github-event': 'registry_package',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature,
    }
    expect((await call('POST', '/hooks/github', json(pkg, githubHeaders))).status).toBe(202)
    expect(
      (
        await call(
          'POST',
          '/hooks/harbor',
          json(fixture('harbor-push-artifact.json'), { authorization: SECRETS.harbor }),
        )
      ).status,
    ).toBe(202)
    expect(
      (await call('POST', `/hooks/quay/${SECRETS.quay}`, json(fixture('quay-repo-push.json'))))
        .status,
    ).toBe(202)
    expect(
      (
        await call(
          'POST',
          '/hooks/quay/wrong-secret-0123456789',
          json(fixture('quay-repo-push.json')),
        )
      ).status,
    ).toBe(401)
    expect((await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json('{'))).status).toBe(
      400,
    )
    expect(
      (await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json({ push_data: {} }))).status,
    ).toBe(422)
    expect(
      (
        await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, {
          body: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415)
    const big = JSON.stringify({ padding: 'x'.repeat(1024 * 1024) })
    expect((await call('POST', `/hooks/dockerhub/${SECRETS.dockerhub}`, json(big))).status).toBe(
      413,
    )

    // Operations.
    expect((await call('GET', '/healthz')).status).toBe(200)
    expect((await call('GET', '/readyz')).status).toBe(200)
    expect((await call('GET', '/metrics')).status).toBe(200)

    // 403 (no admin_token, a request from another machine) cannot be made from loopback; the
    // loopback rule itself is tested in relay.test.ts.
    expect(checker.unexercised()).toEqual([])
  })

  it('documents the callback exactly as the shared schema defines it', async () => {
    const { callbackSchema } = await import('../../../src/shared/callback.js')
    const { parse } = await import('yaml')
    const { readFileSync } = await import('node:fs')
    const documented = parse(readFileSync(spec, 'utf8')).components.schemas.Callback
    expect(documented.required).toEqual(callbackSchema.required)
    expect(documented.additionalProperties).toBe(false)
    expect(documented.properties.state.enum).toEqual(callbackSchema.properties.state.enum)
    expect(documented.properties.description.maxLength).toBe(
      callbackSchema.properties.description?.maxLength,
    )
    expect(documented.properties.context.maxLength).toBe(
      callbackSchema.properties.context?.maxLength,
    )
    expect(documented.properties.target_url.pattern).toBe(
      callbackSchema.properties.target_url?.pattern,
    )
    expect(documented.properties.target_url.maxLength).toBe(
      callbackSchema.properties.target_url?.maxLength,
    )
  })
})
