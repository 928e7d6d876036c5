import { createHmac, randomUUID } from 'node:crypto'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Chain, Settings } from '../../src/relay/config/settings.js'
import { createImageReader } from '../../src/relay/deliverers/registry-reader.js'
import type { RunJson } from '../../src/relay/http/representation.js'
import {
  type AcceptedStatus,
  type GitHubStandIn,
  startGitHubStandIn,
} from '../support/github-stand-in.js'
import { type RegistryStandIn, startRegistryStandIn } from '../support/registry-stand-in.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from './relay-harness.js'

// Digest pinning and commit statuses: the registry stand-in serves the image (token auth, an
// index, labels), the GitHub stand-in checks each status against GitHub's OpenAPI description.

const SHA = '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a'
/** The labels of an image built from acme/app on the relay's GitHub (here, the stand-in). */
const labels = () => ({
  'org.opencontainers.image.source': `${github.url}/acme/app.git`,
  'org.opencontainers.image.revision': SHA,
})

const release: Chain = {
  name: 'release',
  match: { repository: 'acme/app', tags: ['v*'] },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  reportToCommit: { context: 'hookchain/{chain}/{step}' },
  steps: [
    { kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' },
    { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
  ],
}

let github: GitHubStandIn
let registry: RegistryStandIn
let t: TestRelay

function settingsFor(overrides: Partial<Settings> = {}): Settings {
  return testSettings(github.url, {
    chains: [release],
    registries: [{ host: registry.host, username: null, password: null, http: true }],
    ...overrides,
  })
}

beforeAll(async () => {
  github = await startGitHubStandIn()
  registry = await startRegistryStandIn()
  t = await startTestRelay(settingsFor())
})
afterAll(async () => {
  await t.close()
  await registry.close()
  await github.close()
})
afterEach(() => github.recover())

/** Quay's push of a tag (no digest in it) of the stand-in registry's acme/app. */
async function quayPush(tag: string): Promise<string> {
  const response = await t.post(`/hooks/quay/${SECRETS.quay}`, {
    repository: 'acme/app',
    docker_url: `${registry.host}/acme/app`,
    updated_tags: [tag],
  })
  expect(response.status).toBe(202)
  const { runs } = (await response.json()) as { runs: string[] }
  return runs[0] as string
}

async function callbackOf(runId: string, step: number): Promise<string> {
  const found = await eventually(() =>
    github.dispatches.find(
      (d) => d.clientPayload?.run_id === runId && d.clientPayload?.step === step,
    ),
  )
  return t.local(String(found.clientPayload?.callback_url))
}

async function report(runId: string, step: number, body: Record<string, unknown>) {
  const response = await fetch(await callbackOf(runId, step), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(200)
}

/** The last status GitHub took for each context of a commit. */
function latest(statuses: AcceptedStatus[], sha: string): Map<string, AcceptedStatus> {
  return new Map(statuses.filter((s) => s.sha === sha).map((s) => [s.context, s]))
}

const run = (id: string) => t.api<RunJson>(`/api/runs/${id}`)

describe('a run whose image names where it was built from', () => {
  it('pins the tag to its digest and sets every step on the commit of its OCI labels', async () => {
    const pushed = registry.push('acme/app', 'v1.2.0', { labels: labels(), index: true })
    const runId = await quayPush('v1.2.0')

    const first = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === runId),
    )
    expect(first.clientPayload?.image).toMatchObject({
      registry: registry.host,
      tag: 'v1.2.0',
      digest: pushed.digest,
    })
    await report(runId, 1, {
      state: 'success',
      description: '387 tests PASSED',
      target_url: 'https://github.com/acme/tests/actions/runs/11',
    })
    const long = `${'3 of 390 tests FAILED; '.repeat(11)}`.slice(0, 255)
    await report(runId, 2, { state: 'failure', description: long })

    await github.waitForStatuses((all) => {
      const now = latest(all, SHA)
      return (
        now.get('hookchain/release/run')?.state === 'failure' &&
        now.get('hookchain/release/2')?.state === 'failure'
      )
    })
    // Nothing older lands after: the outbox has settled.
    await eventually(async () => ((await t.relay.store.outboxDepth()) === 0 ? true : undefined))
    const statuses = [...github.statuses]
    const last = latest(statuses, SHA)
    expect([...last.keys()].sort()).toEqual([
      'hookchain/release/1',
      'hookchain/release/2',
      'hookchain/release/run',
    ])
    expect(last.get('hookchain/release/1')).toMatchObject({
      repository: 'acme/app',
      state: 'success',
      description: '387 tests PASSED',
      targetUrl: 'https://github.com/acme/tests/actions/runs/11',
    })
    const failed = last.get('hookchain/release/2')
    expect(failed?.state).toBe('failure')
    expect([...(failed?.description ?? '')]).toHaveLength(140)
    expect(failed?.description?.endsWith('…')).toBe(true)
    expect(failed?.targetUrl).toBe(`http://relay.test/runs/${runId}`)
    expect(last.get('hookchain/release/run')?.description).toMatch(
      /^Chain release failed at step 2: 3 of 390 tests FAILED/,
    )
    // Each step was pending before it ended.
    const contexts = statuses.filter((s) => s.context === 'hookchain/release/1').map((s) => s.state)
    expect(contexts[0]).toBe('pending')
    expect(contexts.at(-1)).toBe('success')
    // GitHub took every status the relay sent: each fits repos/create-commit-status.
    const posted = github.requests.filter((r) => r.path.includes('/statuses/'))
    expect(posted.every((r) => r.status === 201)).toBe(true)

    const ended = await eventually(async () => {
      const r = await run(runId)
      return r.commit_statuses.length >= statuses.length ? r : undefined
    })
    expect(ended).toMatchObject({
      image: { digest: pushed.digest },
      source_commit: { repository: 'acme/app', sha: SHA, from: 'oci-labels' },
      notes: [],
    })
    expect(ended.image_reads.map((a) => a.status)).toEqual([401, 200, 200, 200, 307, 200])
    expect(ended.commit_statuses.every((a) => a.status === 201)).toBe(true)
    expect(ended.steps[0]?.attempts.map((a) => a.kind)).toEqual(['dispatch'])
  })

  it('takes the commit from GitHub Packages, without reading the registry', async () => {
    // GitHub Packages of the relay's GitHub: the stand-in's address stands for github.com.
    const body = fixture('github-registry-package-published.json').replaceAll(
      'https://github.com/Acme/app',
      `${github.url}/Acme/app`,
    )
    const signature = `sha256=${createHmac('sha256', SECRETS.github).update(body).digest('hex')}`
    const response = await t.post('/hooks/github', body, {
      'x-github-event': 'registry_package',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature,
    })
    expect(response.status).toBe(202)
    const { runs } = (await response.json()) as { runs: string[] }
    const runId = runs[0] as string
    const statuses = await github.waitForStatuses((all) =>
      all.some((s) => s.context === 'hookchain/release/1' && s.repository === 'Acme/app'),
    )
    expect(statuses.find((s) => s.repository === 'Acme/app')?.sha).toBe(SHA)
    const ran = await run(runId)
    expect(ran.source_commit).toEqual({ repository: 'Acme/app', sha: SHA, from: 'github-packages' })
    expect(ran.image_reads).toEqual([])
  })

  it('takes the commit of a start request', async () => {
    registry.push('acme/app', 'v3.0.0')
    const sha = 'c'.repeat(40)
    const response = await fetch(`${t.url}/api/chains/release/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        image: `${registry.host}/acme/app:v3.0.0`,
        source: { repository: 'acme/app', sha },
      }),
    })
    expect(response.status).toBe(201)
    const statuses = await github.waitForStatuses((all) =>
      all.some((s) => s.sha === sha && s.context === 'hookchain/release/1'),
    )
    expect(statuses.filter((s) => s.sha === sha).map((s) => s.state)).toContain('pending')
  })
})

describe('a run the relay cannot read everything for', () => {
  it('says in its notes that no commit was found, and runs its chain all the same', async () => {
    registry.push('acme/app', 'v2.0.0', { labels: { 'org.opencontainers.image.version': 'v2' } })
    const runId = await quayPush('v2.0.0')
    await callbackOf(runId, 1)
    const ran = await run(runId)
    expect(ran.notes.map((n) => n.text)).toEqual([
      'No commit statuses: neither the start request nor the image names a GitHub repository and commit: in its OCI labels, the image has no org.opencontainers.image.source and no org.opencontainers.image.revision label. Label the image with org.opencontainers.image.source and org.opencontainers.image.revision, or start the chain with the hookchain Action.',
    ])
    expect(ran.source_commit).toBeNull()
    expect(ran.image.digest).toMatch(/^sha256:/)
    expect(ran.commit_statuses).toEqual([])
  })

  it('notes a tag it could not pin, and sends its steps the tag', async () => {
    const runId = await quayPush('v9.9.9')
    const dispatched = await eventually(() =>
      github.dispatches.find((d) => d.clientPayload?.run_id === runId),
    )
    expect(dispatched.clientPayload?.image).toMatchObject({ tag: 'v9.9.9', digest: null })
    const notes = (await run(runId)).notes.map((n) => n.text)
    expect(notes[0]).toBe(
      `The tag v9.9.9 was not pinned to a digest (${registry.host}: the manifest v9.9.9 of acme/app is not there (HTTP 404)): each step gets what the tag points to when it pulls it.`,
    )
  })

  it('tries the registry again when it answers 503, then goes on', async () => {
    registry.push('acme/app', 'v4.0.0', { labels: labels() })
    registry.fail(1, 503)
    const runId = await quayPush('v4.0.0')
    await callbackOf(runId, 1)
    const ran = await run(runId)
    expect(ran.notes).toEqual([])
    expect(ran.image_reads[0]).toMatchObject({ status: 503, error: 'HTTP 503' })
    expect(ran.source_commit?.from).toBe('oci-labels')
  })
})

describe('commit statuses GitHub refuses', () => {
  it('are tried again on 502 and given up on 403, and never stop the chain', async () => {
    const sha = 'd'.repeat(40)
    // The faults are for this run's statuses: the earlier runs' are all written.
    await eventually(async () => ((await t.relay.store.outboxDepth()) === 0 ? true : undefined))
    github.fail(1, { status: 502 }, 'statuses')
    github.fail(50, { status: 403 }, 'statuses')
    const response = await fetch(`${t.url}/api/chains/release/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        image: `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}`,
        source: { repository: 'acme/app', sha },
      }),
    })
    const { run: begun } = (await response.json()) as { run: RunJson }
    await report(begun.id, 1, { state: 'success' })
    await report(begun.id, 2, { state: 'success' })
    const ended = await eventually(async () => {
      const r = await run(begun.id)
      return r.state === 'success' && r.commit_statuses.some((a) => a.status === 403)
        ? r
        : undefined
    })
    // Its jobs run side by side: the 502 was one's first try, whichever was first.
    expect(ended.commit_statuses.filter((a) => a.status === 502)).toHaveLength(1)
    expect(ended.commit_statuses.find((a) => a.status === 403)?.error).toContain(
      'may not set commit statuses on acme/app; it needs Commit statuses: write there',
    )
    expect(ended.steps.map((s) => s.state)).toEqual(['success', 'success'])
  })
})

describe('commit statuses and dispatches', () => {
  it('share the pace of GitHub writes', async () => {
    github.recover()
    const paced = await startTestRelay(
      settingsFor({
        github: { ...t.settings.github, writesPerMinute: 600 },
      }),
    )
    try {
      const since = github.requests.length
      const response = await fetch(`${paced.url}/api/chains/release/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${SECRETS.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          image: `ghcr.io/acme/app@sha256:${'9f'.repeat(32)}`,
          source: { repository: 'acme/app', sha: 'e'.repeat(40) },
        }),
      })
      const { run: begun } = (await response.json()) as { run: RunJson }
      // The run's and step 1's statuses and step 1's dispatch: three writes 100 ms apart.
      await eventually(() => (github.requests.length - since >= 3 ? true : undefined))
      const found = await eventually(() =>
        github.dispatches.find((d) => d.clientPayload?.run_id === begun.id),
      )
      await fetch(paced.local(String(found.clientPayload?.callback_url)), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ state: 'success' }),
      })
      await eventually(() => (github.requests.length - since >= 6 ? true : undefined), 10_000)
      const times = github.requests.slice(since).map((r) => r.receivedAt.getTime())
      const gaps = times.slice(1).map((at, i) => at - (times[i] as number))
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(80)
    } finally {
      await paced.close()
    }
  })
})

describe('a registry that does not answer', () => {
  it('is read for the first run only: the next ones start at once, each with a note', async () => {
    const gone = await startRegistryStandIn()
    const host = gone.host
    await gone.close()
    const pinOnly: Chain = { ...release, reportToCommit: null }
    const settings = testSettings(github.url, {
      chains: [pinOnly],
      registries: [{ host, username: null, password: null, http: true }],
    })
    // The relay's own reader, which remembers a registry that gave no answer.
    const own = await startTestRelay(settings, {
      images: createImageReader({ registries: settings.registries ?? [], timeoutMs: 2000 }),
    })
    try {
      const push = async (tag: string) => {
        const response = await own.post(`/hooks/quay/${SECRETS.quay}`, {
          repository: 'acme/app',
          docker_url: `${host}/acme/app`,
          updated_tags: [tag],
        })
        return ((await response.json()) as { runs: string[] }).runs[0] as string
      }
      const first = await push('v7.0.0')
      await eventually(() => github.dispatches.find((d) => d.clientPayload?.run_id === first))
      const second = await push('v7.0.1')
      await eventually(() => github.dispatches.find((d) => d.clientPayload?.run_id === second))
      const [read, skipped] = await Promise.all(
        [first, second].map((id) => own.api<RunJson>(`/api/runs/${id}`)),
      )
      expect(read?.image_reads).toHaveLength(1)
      expect(skipped?.image_reads).toEqual([])
      for (const ran of [read, skipped]) {
        expect(ran?.notes[0]?.text).toMatch(/was not pinned to a digest \(.*ECONNREFUSED/)
      }
      // The first was noted by the outbox job that read the registry; the second as it started.
      expect(Date.parse(String(read?.notes[0]?.at))).toBeGreaterThan(
        Date.parse(String(read?.created_at)),
      )
      expect(skipped?.notes[0]?.at).toBe(skipped?.created_at)
    } finally {
      await own.close()
    }
  })
})
