import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { RunJson } from '../../src/relay/http/representation.js'
import { eventually, fixture, SECRETS } from '../relay/relay-harness.js'
import { type RelayProcess, spawnRelay } from '../relay/relay-process.js'
import { freePort } from '../support/free-port.js'
import {
  type AcceptedDispatch,
  type GitHubStandIn,
  STAND_IN_TOKEN,
  startGitHubStandIn,
} from '../support/github-stand-in.js'
import { type HttpReceiver, startHttpReceiver } from '../support/http-receiver.js'
import { buildOciImage } from './oci-image.js'
import { REGISTRY_BINARY, type Registry, startRegistry } from './registry.js'
import { copyToRegistry, SKOPEO } from './skopeo.js'
import {
  DEFAULT_CONTEXT,
  RUN_ID,
  repositoryDispatchEvent,
  runAction,
  type WorkflowJob,
} from './workflow.js'

const missing = [REGISTRY_BINARY, SKOPEO].filter((binary) => !existsSync(binary))
const install = 'run scripts/e2e-setup.sh (apt-get install docker-registry skopeo)'
if (missing.length > 0 && process.env.CI) {
  throw new Error(`The end-to-end suite needs ${missing.join(' and ')}: ${install}.`)
}
if (missing.length > 0) {
  console.warn(
    `Skipping the registry end-to-end suite: ${missing.join(' and ')} missing; ${install}.`,
  )
}

const junit = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/junit', name), 'utf8')

interface EventJson {
  outcome: string
  reason: string | null
  pushes: { tag: string | null }[]
}

interface ClientPayload {
  callback_url?: string
  run_id?: string
  step?: number
  image?: { tag?: string; digest?: string | null }
}

let dir: string
let github: GitHubStandIn
let hub: HttpReceiver
let relay: RelayProcess
let registry: Registry
const admin = { authorization: `Bearer ${SECRETS.admin}` }

/**
 * Zot's events name no host: the relay takes them as coming from `localhost:<port>`, the same
 * registry by another name, so that the `edge` chain pinned to it starts on them and not on the
 * registry's own notifications (which name `127.0.0.1:<port>`).
 */
const zotHost = (registryHost: string) => registryHost.replace(/^127\.0\.0\.1:/, 'localhost:')

function relayConfig(port: number, registryHost: string): string {
  return stringify({
    public_url: `http://127.0.0.1:${port}`,
    admin_token: SECRETS.admin,
    github: { api_url: github.url, token: STAND_IN_TOKEN, writes_per_minute: 0 },
    sources: {
      distribution: { token: SECRETS.distribution },
      dockerhub: { secret: SECRETS.dockerhub },
      cloudevents: { token: SECRETS.cloudevents, registry: zotHost(registryHost) },
    },
    registry_callbacks: { allowed_hosts: ['127.0.0.1'], allow_http: true },
    registries: [{ host: registryHost, http: true }],
    chains: [
      {
        name: 'release',
        match: { repository: 'acme/app', tags: ['v*'] },
        step_timeout: '5m',
        steps: [
          { dispatch: { repository: 'acme/integration-tests', event_type: 'image-pushed' } },
          { dispatch: { repository: 'acme/deploy', event_type: 'deploy' } },
        ],
      },
      {
        name: 'labelled',
        match: { repository: 'acme/labelled', tags: ['v*'] },
        report_to_commit: {},
        steps: [{ dispatch: { repository: 'acme/labelled-tests', event_type: 'image-pushed' } }],
      },
      {
        name: 'hub',
        match: { repository: 'svendowideit/testhook' },
        steps: [{ dispatch: { repository: 'acme/notify', event_type: 'hub-push' } }],
      },
      {
        name: 'edge',
        match: { repository: `${zotHost(registryHost)}/acme/edge`, tags: ['v*', '!*-rc*'] },
        steps: [
          { dispatch: { repository: 'acme/edge-tests', event_type: 'image-pushed' } },
          { dispatch: { repository: 'acme/edge-deploy', event_type: 'deploy' } },
        ],
      },
    ],
  })
}

const payloadOf = (dispatch: AcceptedDispatch) => (dispatch.clientPayload ?? {}) as ClientPayload
const dispatchesOf = (tag: string) =>
  github.dispatches.filter((d) => payloadOf(d).image?.tag === tag)

describe.skipIf(missing.length > 0)('a real registry, the relay and the Action, end to end', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-e2e-'))
    github = await startGitHubStandIn()
    hub = await startHttpReceiver()
    // The relay hands out callback URLs under public_url: it must be the relay's real address.
    // The registry starts first (it notifies only on pushes), so the config can name its host.
    const port = await freePort()
    registry = await startRegistry(dir, {
      url: `http://127.0.0.1:${port}/hooks/distribution`,
      token: SECRETS.distribution,
    })
    writeFileSync(join(dir, 'hookchain.yml'), relayConfig(port, registry.host))
    relay = await spawnRelay([
      '--config',
      join(dir, 'hookchain.yml'),
      '--database',
      `sqlite:${join(dir, 'relay.db')}`,
      '--port',
      String(port),
    ])
  }, 60_000)

  afterAll(async () => {
    await registry?.stop()
    if (relay) {
      relay.child.kill('SIGTERM')
      await relay.exited
    }
    await github?.close()
    await hub?.close()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  /** Pushes a fresh image with skopeo; resolves with its manifest digest. */
  async function pushImage(
    tag: string,
    repository = 'acme/app',
    options: Parameters<typeof buildOciImage>[2] = {},
  ): Promise<string> {
    const image = buildOciImage(dir, tag, options)
    await copyToRegistry(image, `${registry.host}/${repository}:${tag}`)
    return image.digest
  }

  /** Waits for step `step`'s dispatch of `tag`, then plays that repository's workflow. */
  async function playStep(
    tag: string,
    step: number,
    job: Omit<WorkflowJob, 'repository' | 'event'>,
  ) {
    const dispatch = await eventually(
      () => dispatchesOf(tag).find((d) => payloadOf(d).step === step),
      20_000,
    )
    const event = repositoryDispatchEvent(
      dispatch.repository,
      dispatch.eventType,
      payloadOf(dispatch) as Record<string, unknown>,
    )
    const action = await runAction(dir, { ...job, repository: dispatch.repository, event })
    return { dispatch, payload: payloadOf(dispatch), action }
  }

  const runOf = async (id: string | undefined) =>
    (await (await fetch(`${relay.url}/api/runs/${id}`, { headers: admin })).json()) as RunJson

  it('completes a two-step chain started by a skopeo push', async () => {
    const digest = await pushImage('v1')

    const first = await playStep('v1', 1, {
      jobStatus: 'success',
      inputs: { 'test-results': 'reports/**/*.xml' },
      files: { 'reports/jest/junit.xml': junit('jest-junit.xml') },
    })
    expect(first.dispatch.repository).toBe('acme/integration-tests')
    expect(first.dispatch.eventType).toBe('image-pushed')
    expect(first.payload).toMatchObject({
      chain: 'release',
      step: 1,
      steps: 2,
      source: 'distribution',
      image: {
        registry: registry.host,
        repository: 'acme/app',
        tag: 'v1',
        digest,
        reference: `${registry.host}/acme/app:v1`,
      },
    })
    expect(first.action.exitCode).toBe(0)
    expect(first.action.outputs).toMatchObject({ state: 'success', 'chain-state': 'running' })
    expect(first.action.summary).toContain('4 tests PASSED, 1 skipped')
    // The callback token is masked before anything else is logged, and never shown in clear.
    const token = new URL(String(first.payload.callback_url)).pathname.split('/').pop() ?? ''
    const lines = first.action.stdout.split('\n')
    expect(lines[0]).toBe(`::add-mask::${token}`)
    expect(lines.slice(1).join('\n')).not.toContain(token)

    const second = await playStep('v1', 2, { jobStatus: 'success' })
    expect(second.dispatch.repository).toBe('acme/deploy')
    expect(second.dispatch.eventType).toBe('deploy')
    expect(second.payload.run_id).toBe(first.payload.run_id)
    expect(second.action.exitCode).toBe(0)
    expect(second.action.outputs['chain-state']).toBe('success')

    const run = await runOf(first.payload.run_id)
    expect(run.state).toBe('success')
    expect(run.image).toMatchObject({ reference: `${registry.host}/acme/app:v1`, digest })
    expect(run.steps).toMatchObject([
      {
        state: 'success',
        description: '4 tests PASSED, 1 skipped',
        context: DEFAULT_CONTEXT,
        target_url: `https://github.com/acme/integration-tests/actions/runs/${RUN_ID}`,
      },
      {
        state: 'success',
        context: DEFAULT_CONTEXT,
        target_url: `https://github.com/acme/deploy/actions/runs/${RUN_ID}`,
      },
    ])
  })

  it.each([
    {
      name: 'its job fails',
      tag: 'v2',
      job: { jobStatus: 'failure' },
      description: 'Job failed',
    },
    {
      name: 'its tests fail',
      tag: 'v3',
      job: {
        jobStatus: 'success',
        inputs: { 'test-results': 'reports/**/*.xml' },
        files: {
          'reports/TEST-com.acme.app.ImageTest.xml': junit('TEST-com.acme.app.ImageTest.xml'),
        },
      },
      description: '1 of 4 tests FAILED, 1 skipped',
    },
  ] as const)(
    'stops the chain when a step reports failure: $name',
    async ({ tag, job, description }) => {
      await pushImage(tag)
      const first = await playStep(tag, 1, job)
      expect(first.action.exitCode).toBe(0)
      expect(first.action.outputs).toMatchObject({
        state: 'failure',
        description,
        'chain-state': 'failure',
      })

      const run = await runOf(first.payload.run_id)
      expect(run.state).toBe('failure')
      expect(run.steps[0]).toMatchObject({ state: 'failure', description })
      expect(run.steps[1]).toMatchObject({ dispatched_at: null, attempts: [] })
      // A dispatch of step 2 would leave at once (the outbox is woken on commit): give it time.
      await new Promise((resolve) => setTimeout(resolve, 600))
      expect(dispatchesOf(tag).map((d) => payloadOf(d).step)).toEqual([1])
    },
  )

  it("posts the final result to a Docker Hub payload's own callback_url", async () => {
    const body = JSON.parse(fixture('dockerhub-push.json'))
    body.callback_url = `${hub.url}/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/`
    body.push_data.tag = 'hub-1'
    const accepted = await fetch(`${relay.url}/hooks/dockerhub/${SECRETS.dockerhub}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(accepted.status).toBe(202)

    const step = await playStep('hub-1', 1, {
      jobStatus: 'success',
      inputs: { description: 'notified' },
    })
    expect(step.dispatch).toMatchObject({ repository: 'acme/notify', eventType: 'hub-push' })
    expect(step.action.outputs['chain-state']).toBe('success')

    const [callback] = await hub.waitForRequests(1, 10_000)
    expect(callback?.method).toBe('POST')
    expect(callback?.path).toBe(
      '/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
    )
    expect(callback?.body).toEqual({
      state: 'success',
      description: '1 of 1 steps succeeded',
      context: 'hookchain/hub',
      target_url: `${relay.url}/runs/${step.payload.run_id}`,
    })
  })

  it('records a tag no chain matches as unmatched, and answers every blob push 2xx', async () => {
    await pushImage('dev')
    const events = await eventually(async () => {
      const answer = (await (
        await fetch(`${relay.url}/api/events?source=distribution&limit=100`, { headers: admin })
      ).json()) as { events: EventJson[] }
      return answer.events.some((e) => e.outcome === 'unmatched' && e.pushes[0]?.tag === 'dev')
        ? answer.events
        : undefined
    }, 20_000)
    const unmatched = events.filter((e) => e.outcome === 'unmatched')
    expect(unmatched.map((e) => e.reason)).toEqual([
      `no chain matches ${registry.host}/acme/app:dev`,
    ])
    expect(dispatchesOf('dev')).toEqual([])

    // Each push of a one-layer image sends two blob events (layer, config) and one manifest event.
    const ignored = events.filter((e) => e.outcome === 'ignored')
    expect(ignored.length).toBeGreaterThanOrEqual(2 * 4)
    for (const event of ignored) expect(event.reason).toMatch(/blob push/)

    // The registry's own account: every notification answered 2xx, none failed or left to retry.
    const metrics = await eventually(async () => {
      const now = await registry.notifications()
      return now.Pending === 0 ? now : undefined
    }, 10_000)
    expect(metrics.Events).toBeGreaterThanOrEqual(3 * 4)
    expect(metrics).toMatchObject({ Successes: metrics.Events, Failures: 0, Errors: 0 })
    for (const status of Object.keys(metrics.Statuses)) expect(status).toMatch(/^2\d\d /)
  })
  it('sets commit statuses on the commit of the OCI labels of an image really pushed', async () => {
    const sha = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'
    // The relay's GitHub is the stand-in: its address stands for github.com in the label.
    const digest = await pushImage('v51', 'acme/labelled', {
      labels: {
        'org.opencontainers.image.source': `${github.url}/acme/labelled`,
        'org.opencontainers.image.revision': sha,
      },
    })
    const step = await playStep('v51', 1, { jobStatus: 'success', inputs: { description: 'ok' } })
    expect(step.payload).toMatchObject({ chain: 'labelled', image: { digest } })
    expect(step.action.outputs['chain-state']).toBe('success')
    const statuses = await github.waitForStatuses(
      (all) => all.some((s) => s.context === 'hookchain/labelled/run' && s.state === 'success'),
      20_000,
    )
    const mine = statuses.filter((s) => s.sha === sha)
    expect(new Set(mine.map((s) => s.repository))).toEqual(new Set(['acme/labelled']))
    expect(mine.filter((s) => s.context === 'hookchain/labelled/1').map((s) => s.state)).toEqual(
      expect.arrayContaining(['pending', 'success']),
    )
    const run = await runOf(step.payload.run_id)
    expect(run.source_commit).toEqual({ repository: 'acme/labelled', sha, from: 'oci-labels' })
    expect(run.notes).toEqual([])
    // Read anonymously from the real registry, which asks for no token: manifest, then config.
    expect(run.image_reads.map((a) => a.status)).toEqual([200, 200])
  })

  it('pins a tag to the digest the real registry has for it, whatever the tag points to later', async () => {
    const start = async (tag: string) => {
      const response = await fetch(`${relay.url}/api/chains/edge/runs`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ image: `${registry.host}/acme/pinned:${tag}` }),
      })
      expect(response.status).toBe(201)
      const { run } = (await response.json()) as { run: RunJson }
      return eventually(() =>
        github.dispatches.find((d) => payloadOf(d).run_id === run.id),
      ) as Promise<AcceptedDispatch>
    }
    const first = await pushImage('v8', 'acme/pinned', { build: 'first' })
    const before = await start('v8')
    expect(payloadOf(before).image).toMatchObject({ tag: 'v8', digest: first })
    // The tag moves to another image: a run started now gets that one, the first keeps its own.
    const second = await pushImage('v8', 'acme/pinned', { build: 'second' })
    expect(second).not.toBe(first)
    const after = await start('v8')
    expect(payloadOf(after).image).toMatchObject({ tag: 'v8', digest: second })
    expect((await runOf(payloadOf(before).run_id)).image.digest).toBe(first)
  })

  it("completes a two-step chain started by Zot's CloudEvent for an image really pushed", async () => {
    const digest = await pushImage('v7', 'acme/edge')
    // What Zot sends for that push: its binary-mode CloudEvent, the manifest as the registry has it.
    const stored = await fetch(`http://${registry.host}/v2/acme/edge/manifests/v7`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
    expect(stored.headers.get('docker-content-digest')).toBe(digest)
    const data = {
      ...JSON.parse(fixture('cloudevents-zot-image-updated-binary.json')),
      name: 'acme/edge',
      reference: 'v7',
      digest,
      manifest: await stored.text(),
    }
    const headers = {
      ...JSON.parse(fixture('cloudevents-zot-image-updated-binary.headers.json')),
      'ce-id': randomUUID(),
      'ce-time': new Date().toISOString(),
      authorization: `Bearer ${SECRETS.cloudevents}`,
    }
    const delivered = await fetch(`${relay.url}/hooks/cloudevents`, {
      method: 'POST',
      headers,
      body: JSON.stringify(data),
    })
    expect(delivered.status, await delivered.clone().text()).toBe(202)
    const accepted = (await delivered.json()) as { outcome: string; runs: string[] }
    expect(accepted).toMatchObject({ outcome: 'started' })
    expect(accepted.runs).toHaveLength(1)

    const first = await playStep('v7', 1, { jobStatus: 'success' })
    expect(first.dispatch).toMatchObject({
      repository: 'acme/edge-tests',
      eventType: 'image-pushed',
    })
    expect(first.payload).toMatchObject({
      run_id: accepted.runs[0],
      chain: 'edge',
      source: 'cloudevents',
      image: {
        registry: zotHost(registry.host),
        repository: 'acme/edge',
        tag: 'v7',
        digest,
        reference: `${zotHost(registry.host)}/acme/edge:v7`,
      },
    })
    expect(first.action.outputs['chain-state']).toBe('running')
    const second = await playStep('v7', 2, { jobStatus: 'success' })
    expect(second.dispatch.repository).toBe('acme/edge-deploy')
    expect(second.action.outputs['chain-state']).toBe('success')
    expect((await runOf(accepted.runs[0])).state).toBe('success')

    // The same event again starts nothing; the registry's own notification of the push matched no chain.
    const again = await fetch(`${relay.url}/hooks/cloudevents`, {
      method: 'POST',
      headers,
      body: JSON.stringify(data),
    })
    expect(await again.json()).toMatchObject({ duplicate: true, runs: accepted.runs })
    const notified = await eventually(async () => {
      const answer = (await (
        await fetch(`${relay.url}/api/events?source=distribution&outcome=unmatched&limit=100`, {
          headers: admin,
        })
      ).json()) as { events: EventJson[] }
      return answer.events.find((e) => e.pushes[0]?.tag === 'v7')
    }, 10_000)
    expect(notified.reason).toBe(`no chain matches ${registry.host}/acme/edge:v7`)
    expect(dispatchesOf('v7')).toHaveLength(2)
  })
})
