import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  type CallbackReceiver,
  RUN_RUNNING,
  type ScriptedAnswer,
  startCallbackReceiver,
} from './callback-receiver.js'
import { buildDist, type DistRunner, dist, distRunner, root } from './dist-run.js'

let runner: DistRunner
let dir: string
let receiver: CallbackReceiver | undefined
/** Which sources each bundle holds, as the build says. */
let sourcesOfBundles: Record<string, string[]>

beforeAll(() => {
  runner = distRunner()
  dir = runner.dir
  const metafile = join(dir, 'sources-of-bundles.json')
  buildDist(metafile)
  sourcesOfBundles = JSON.parse(readFileSync(metafile, 'utf8'))
  copyFileSync(
    join(root, 'test/fixtures/junit/TEST-com.acme.app.ImageTest.xml'),
    join(dir, 'TEST-ImageTest.xml'),
  )
}, 60_000)
afterAll(() => runner.remove())
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

const runDist: DistRunner['run'] = (inputs, options) => runner.run(inputs, options)

async function relay(answers: ScriptedAnswer[]): Promise<CallbackReceiver> {
  receiver = await startCallbackReceiver(answers)
  return receiver
}

describe('dist/index.js', () => {
  it('reports success and sets the outputs and the job summary', async () => {
    const { callbackUrl, requests, token } = await relay([{ status: 200, body: RUN_RUNNING }])
    const result = await runDist({ 'callback-url': callbackUrl })
    expect(result.stderr).toBe('')
    expect(result.exitCode).toBe(0)
    expect(requests).toHaveLength(1)
    expect(requests[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': expect.stringMatching(/^hookchain-action\/\d+\.\d+\.\d+$/),
    })
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({
      state: 'success',
      description: 'Job succeeded',
      context: 'Integration tests / java',
      target_url: 'https://github.com/acme/integration-tests/actions/runs/42',
    })
    expect(result.outputs).toEqual({
      state: 'success',
      description: 'Job succeeded',
      context: 'Integration tests / java',
      'target-url': 'https://github.com/acme/integration-tests/actions/runs/42',
      'chain-state': 'running',
    })
    expect(result.summary).toContain('<tr><td>State</td><td><code>success</code></td></tr>')
    expect(result.summary).toContain('<tr><td>Chain state</td><td><code>running</code></td></tr>')
    expect(result.stdout.split('\n')[0]).toBe(`::add-mask::${token}`)
  })

  it('takes the callback URL from the repository_dispatch event', async () => {
    const { callbackUrl, requests } = await relay([{ status: 200, body: RUN_RUNNING }])
    const payload = {
      action: 'image-pushed',
      client_payload: { callback_url: callbackUrl, chain: 'release', step: 1, steps: 2 },
    }
    const result = await runDist({}, { event: { name: 'repository_dispatch', payload } })
    expect(result.exitCode).toBe(0)
    expect(requests).toHaveLength(1)
  })

  it('reports the JUnit results it finds', async () => {
    const { callbackUrl, requests } = await relay([
      { status: 200, body: { run: { state: 'failure' } } },
    ])
    const result = await runDist({ 'callback-url': callbackUrl, 'test-results': 'TEST-*.xml' })
    expect(result.exitCode).toBe(0)
    expect(JSON.parse(requests[0]?.body ?? '')).toMatchObject({
      state: 'failure',
      description: '1 of 4 tests FAILED, 1 skipped',
    })
    expect(result.outputs['chain-state']).toBe('failure')
  })

  it('retries 503 twice and succeeds on the third request', async () => {
    const { callbackUrl, requests } = await relay([
      { status: 503 },
      { status: 503 },
      { status: 200, body: RUN_RUNNING },
    ])
    const result = await runDist({ 'callback-url': callbackUrl })
    expect(result.exitCode).toBe(0)
    expect(requests).toHaveLength(3)
    expect(result.stdout).toContain('Attempt 1 of 4: HTTP 503 Service Unavailable; retrying in')
    expect(result.outputs['chain-state']).toBe('running')
  })

  it('fails after one request when the relay rejects the callback, quoting its detail', async () => {
    const { callbackUrl, requests } = await relay([
      {
        status: 422,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Invalid callback',
          status: 422,
          detail: '/state must be one of success, failure, error, pending',
        }),
      },
    ])
    const result = await runDist({ 'callback-url': callbackUrl, state: 'success' })
    expect(result.exitCode).toBe(1)
    expect(requests).toHaveLength(1)
    expect(result.stdout).toMatch(
      /^::error::The relay rejected the callback with HTTP 422 Unprocessable \w+: \/state must be one of success, failure, error, pending$/m,
    )
  })

  it('ends, with a clear message, when the relay never answers', async () => {
    const { callbackUrl, requests } = await relay([{ hang: true }])
    const result = await runDist({
      'callback-url': callbackUrl,
      'timeout-seconds': '0.3',
      retries: '1',
    })
    expect(result.exitCode).toBe(1)
    expect(requests).toHaveLength(2)
    expect(result.stdout).toContain(
      `::error::The relay at ${new URL(callbackUrl).origin} did not take the callback after 2 attempts: no answer within 0.3 s`,
    )
    expect(result.seconds).toBeLessThan(5)
  })

  it('fails with one line when the run has no callback URL', async () => {
    const result = await runDist({})
    expect(result.exitCode).toBe(1)
    const errors = result.stdout.split('\n').filter((line) => line.startsWith('::error::'))
    expect(errors).toEqual([
      '::error::No callback URL: this run was not started by a hookchain repository_dispatch (it was started by push). Set the callback-url input, or trigger the workflow with on: repository_dispatch.',
    ])
  })

  it('checks fields with the bundled callback schema', async () => {
    const { callbackUrl, requests } = await relay([{ status: 200 }])
    const result = await runDist({
      'callback-url': callbackUrl,
      'target-url': 'https://user@example.com/x',
    })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain('::error::Input "target-url" must be an absolute http(s) URL')
    expect(requests).toHaveLength(0)
  })

  it('cuts a long description as the bundled schema counts it, and warns', async () => {
    const { callbackUrl, requests } = await relay([{ status: 200, body: RUN_RUNNING }])
    const result = await runDist({ 'callback-url': callbackUrl, description: '🚀'.repeat(300) })
    expect(result.exitCode).toBe(0)
    const { description } = JSON.parse(requests[0]?.body ?? '') as { description: string }
    expect([...description]).toHaveLength(255)
    expect(description.endsWith('🚀…')).toBe(true)
    expect(result.stdout).toContain(
      "::warning::The description is 300 characters long; it was cut to the callback's limit of 255.",
    )
  })

  // What keeps a run close to a bare `node` start (see scripts/package-action.mjs): a change
  // that brings one of these back costs every workflow a few milliseconds.
  it('loads only what a plain report needs: no crypto, fs/promises, TLS or JUnit reader', async () => {
    const loaded = join(dir, 'loaded-modules.txt')
    const recorder = join(dir, 'record-loaded-modules.cjs')
    writeFileSync(
      recorder,
      `const before = new Set(process.moduleLoadList)
process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify({
  modules: process.moduleLoadList.filter((name) => !before.has(name)),
  files: Object.keys(require.cache),
})))`,
    )
    const { callbackUrl } = await relay([{ status: 200, body: RUN_RUNNING }])
    const result = await runDist({ 'callback-url': callbackUrl }, { nodeArgs: ['-r', recorder] })
    expect(result.exitCode).toBe(0)
    const { modules, files } = JSON.parse(readFileSync(loaded, 'utf8'))
    expect(modules).toContain('NativeModule http')
    for (const unwanted of [
      'NativeModule crypto',
      'NativeModule internal/fs/promises',
      'NativeModule https',
      'NativeModule tls',
      'NativeModule internal/modules/esm/loader',
    ]) {
      expect(modules).not.toContain(unwanted)
    }
    // Neither dist/test-results.js nor dist/start-chain.js.
    expect(files).toEqual([recorder, dist])
  })

  it('keeps start mode in a bundle of its own, which a report never loads', () => {
    const startMode = (bundle: string) =>
      (sourcesOfBundles[bundle] ?? []).filter((source) => source.startsWith('src/action/start/'))
    expect(startMode('dist/start-chain.js')).toEqual(
      expect.arrayContaining([
        'src/action/start/start-chain.ts',
        'src/action/start/follow-run.ts',
        'src/action/start/oidc-token.ts',
        'src/action/start/relay-api.ts',
      ]),
    )
    expect(startMode('dist/index.js')).toEqual([])
    expect(startMode('dist/test-results.js')).toEqual([])
    // main.ts loads it by the name it has beside dist/index.js.
    expect(readFileSync(dist, 'utf8')).toContain('require("./start-chain.js")')
  })

  it('stays under 1 MB, with the bundles it loads when needed', () => {
    const files = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    const size = files
      .filter((file) => file.endsWith('.js'))
      .reduce((total, file) => total + statSync(join(root, 'dist', file)).size, 0)
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThan(1024 * 1024)
  })
})
