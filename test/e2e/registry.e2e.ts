import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import { type RelayProcess, spawnRelay } from '../relay/relay-process.js'
import {
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import {
  buildOciImage,
  freePort,
  push,
  REGISTRY_BINARY,
  type Registry,
  SKOPEO,
  startRegistry,
} from './registry.js'
import { output, repositoryDispatchEvent, runAction } from './workflow.js'

const missing = [REGISTRY_BINARY, SKOPEO].filter((binary) => !existsSync(binary))
if (missing.length && process.env.CI) {
  throw new Error(
    `${missing.join(' and ')} missing: run scripts/e2e-setup.sh (apt-get install docker-registry skopeo)`,
  )
}
if (missing.length)
  console.warn(
    `Skipping the registry end-to-end tests: ${missing.join(' and ')} missing; run scripts/e2e-setup.sh.`,
  )

interface RunJson {
  id: string
  state: string
  image: { reference: string; digest: string | null }
  steps: { state: string; description: string | null; target_url: string | null }[]
}

let dir: string
let github: GitHubStandIn
let receiver: HttpReceiver
let relay: RelayProcess
let registry: Registry
const admin = { authorization: `Bearer ${SECRETS.admin}` }

describe.skipIf(missing.length > 0)('a real registry, the relay and the Action, end to end', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-e2e-'))
    github = await startGitHubStandIn()
    receiver = await startHttpReceiver()
    const port = await freePort()
    writeFileSync(
      join(dir, 'hookchain.yml'),
      `public_url: http://127.0.0.1:${port}
admin_token: ${SECRETS.admin}
github:
  api_url: ${github.url}
  token: ${STAND_IN_TOKEN}
  writes_per_minute: 0
sources:
  distribution:
    token: ${SECRETS.distribution}
  dockerhub:
    secret: ${SECRETS.dockerhub}
registry_callbacks:
  allowed_hosts: [127.0.0.1]
  allow_http: true
chains:
  - name: release
    match: { repository: acme/app, tags: ["v*"] }
    step_timeout: 5m
    steps:
      - dispatch: { repository: acme/integration-tests, event_type: image-pushed }
      - dispatch: { repository: acme/deploy, event_type: deploy }
  - name: hub
    match: { repository: svendowideit/testhook }
    steps:
      - dispatch: { repository: acme/notify, event_type: hub-push }
`,
    )
    relay = await spawnRelay([
      '--config',
      join(dir, 'hookchain.yml'),
      '--database',
      `sqlite:${join(dir, 'relay.db')}`,
      '--port',
      String(port),
    ])
    registry = await startRegistry(dir, {
      url: `${relay.url}/hooks/distribution`,
      token: SECRETS.distribution,
    })
  }, 60_000)

  afterAll(async () => {
    await registry?.stop()
    relay?.child.kill('SIGTERM')
    await relay?.exited
    await github?.close()
    await receiver?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const dispatchOf = (tag: string, step: number) =>
    eventually(
      () =>
        github.dispatches.find((d) => {
          const payload = d.clientPayload as { step?: number; image?: { tag?: string } } | undefined
          return payload?.step === step && payload.image?.tag === tag
        }),
      20_000,
    )

  async function play(
    tag: string,
    step: number,
    jobStatus: string,
    inputs: Record<string, string> = {},
  ) {
    const dispatch = await dispatchOf(tag, step)
    const event = repositoryDispatchEvent(
      dispatch.repository,
      dispatch.eventType,
      dispatch.clientPayload ?? {},
    )
    return {
      dispatch,
      result: await runAction({
        dir,
        id: `${tag}-${step}`,
        repository: dispatch.repository,
        event,
        jobStatus,
        inputs,
      }),
    }
  }

  const runOf = async (id: string) =>
    (await (await fetch(`${relay.url}/api/runs/${id}`, { headers: admin })).json()) as RunJson

  it('completes a two-step chain started by a skopeo push', async () => {
    const digest = push(buildOciImage(dir, 'v1'), 'v1', `${registry.host}/acme/app:v1`)
    const first = await play('v1', 1, 'success')
    expect(first.dispatch.repository).toBe('acme/integration-tests')
    expect(first.dispatch.clientPayload).toMatchObject({
      chain: 'release',
      source: 'distribution',
      image: {
        registry: registry.host,
        repository: 'acme/app',
        tag: 'v1',
        digest,
        reference: `${registry.host}/acme/app:v1`,
      },
    })
    expect(first.result.code).toBe(0)
    expect(output(first.result, 'chain-state')).toBe('running')

    const second = await play('v1', 2, 'success')
    expect(second.dispatch.repository).toBe('acme/deploy')
    expect(second.result.code).toBe(0)
    expect(output(second.result, 'chain-state')).toBe('success')

    const run = await runOf(String(first.dispatch.clientPayload?.run_id))
    expect(run.state).toBe('success')
    expect(run.steps.map((s) => s.state)).toEqual(['success', 'success'])
    expect(run.steps[0]?.target_url).toBe(
      'https://github.com/acme/integration-tests/actions/runs/4242',
    )
  })

  it('stops the chain when a step reports failed tests', async () => {
    push(buildOciImage(dir, 'v2'), 'v2', `${registry.host}/acme/app:v2`)
    writeFileSync(
      join(dir, 'junit.xml'),
      '<testsuite name="unit" tests="390" failures="3" errors="0" skipped="2"><testcase name="a"/></testsuite>',
    )
    const first = await play('v2', 1, 'success', { 'test-results': 'junit.xml' })
    expect(first.result.code).toBe(0)
    expect(output(first.result, 'state')).toBe('failure')
    expect(output(first.result, 'chain-state')).toBe('failure')
    const run = await runOf(String(first.dispatch.clientPayload?.run_id))
    expect(run.state).toBe('failure')
    expect(run.steps[0]?.description).toBe('3 of 390 tests FAILED, 2 skipped')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(
      github.dispatches.filter(
        (d) => (d.clientPayload as { image?: { tag?: string } })?.image?.tag === 'v2',
      ),
    ).toHaveLength(1)
  })

  it("posts the final result to a Docker Hub payload's own callback_url", async () => {
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.callback_url = `${receiver.url}/u/svendowideit/testhook/hook/abc/`
    body.push_data.tag = 'hub-1'
    const accepted = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(accepted.status).toBe(202)
    const step = await play('hub-1', 1, 'success', { description: 'notified' })
    expect(step.result.code).toBe(0)
    const [callback] = await receiver.waitForRequests(1, 10_000)
    expect(callback?.path).toBe('/u/svendowideit/testhook/hook/abc/')
    expect(callback?.body).toEqual({
      state: 'success',
      description: '1 of 1 steps succeeded',
      context: 'hookchain/hub',
      target_url: `${relay.url}/runs/${step.dispatch.clientPayload?.run_id}`,
    })
  })

  it('records a tag no chain matches as unmatched, and blob pushes as ignored', async () => {
    push(buildOciImage(dir, 'dev'), 'dev', `${registry.host}/acme/app:dev`)
    const events = await eventually(async () => {
      const answer = (await (
        await fetch(`${relay.url}/api/events?source=distribution&limit=100`, { headers: admin })
      ).json()) as {
        events: { outcome: string; reason: string | null; pushes: { tag: string | null }[] }[]
      }
      return answer.events.some((e) => e.outcome === 'unmatched' && e.pushes[0]?.tag === 'dev')
        ? answer.events
        : undefined
    }, 20_000)
    const unmatched = events.find((e) => e.outcome === 'unmatched')
    expect(unmatched?.reason).toBe(`no chain matches ${registry.host}/acme/app:dev`)
    expect(
      events.filter((e) => e.outcome === 'ignored' && /blob/.test(e.reason ?? '')).length,
    ).toBeGreaterThan(0)
    expect(
      github.dispatches.filter(
        (d) => (d.clientPayload as { image?: { tag?: string } })?.image?.tag === 'dev',
      ),
    ).toHaveLength(0)
  })
})
