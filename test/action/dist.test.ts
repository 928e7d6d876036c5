import { execFileSync, spawn } from 'node:child_process'
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { inputVariable, parseOutputFile } from './action-env.js'
import {
  type CallbackReceiver,
  RUN_RUNNING,
  type ScriptedAnswer,
  startCallbackReceiver,
} from './callback-receiver.js'

// These tests run the committed bundle as the runner does: `node dist/index.js`, inputs in
// INPUT_* variables (dashes kept), the event in a file, outputs and summary in files.
const root = join(import.meta.dirname, '../..')
const dist = join(root, 'dist/index.js')

let dir: string
let receiver: CallbackReceiver | undefined

beforeAll(() => {
  // The bundle is a build product: build it from the sources under test. The build is
  // deterministic, so on a clean checkout this leaves the committed dist/ as it was.
  execFileSync(process.execPath, [join(root, 'scripts/package-action.mjs')], {
    cwd: root,
    stdio: 'pipe',
  })
  dir = mkdtempSync(join(tmpdir(), 'hookchain-dist-'))
  copyFileSync(
    join(root, 'test/fixtures/junit/TEST-com.acme.app.ImageTest.xml'),
    join(dir, 'TEST-ImageTest.xml'),
  )
}, 60_000)
afterAll(() => rmSync(dir, { recursive: true, force: true }))
afterEach(async () => {
  await receiver?.close()
  receiver = undefined
})

interface ActionRun {
  exitCode: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  seconds: number
}

let runs = 0
async function runDist(
  inputs: Record<string, string>,
  options: {
    event?: { name: string; payload: unknown }
    variables?: Record<string, string>
    nodeArgs?: string[]
  } = {},
): Promise<ActionRun> {
  const id = ++runs
  const files = {
    GITHUB_OUTPUT: join(dir, `output-${id}`),
    GITHUB_STEP_SUMMARY: join(dir, `summary-${id}.md`),
    GITHUB_EVENT_PATH: join(dir, `event-${id}.json`),
  }
  writeFileSync(files.GITHUB_OUTPUT, '')
  writeFileSync(files.GITHUB_STEP_SUMMARY, '')
  const event = options.event ?? { name: 'push', payload: { ref: 'refs/heads/main' } }
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(event.payload))
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...files,
    GITHUB_EVENT_NAME: event.name,
    GITHUB_WORKFLOW: 'Integration tests',
    GITHUB_JOB: 'java',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/integration-tests',
    GITHUB_RUN_ID: '42',
    GITHUB_RUN_ATTEMPT: '1',
    HOOKCHAIN_BACKOFF_MS: '1',
    // What the runner passes for the inputs with a default in action.yml.
    [inputVariable('job-status')]: 'success',
    [inputVariable('timeout-seconds')]: '10',
    [inputVariable('retries')]: '3',
    ...Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [inputVariable(name), value]),
    ),
    ...options.variables,
  }
  const started = Date.now()
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), dist], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return {
    exitCode,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    seconds: (Date.now() - started) / 1000,
  }
}

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
    expect(files).toEqual([recorder, dist])
  })

  it('stays under 1 MB, with the JUnit reader it loads when needed', () => {
    const files = readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    const size = files
      .filter((file) => file.endsWith('.js'))
      .reduce((total, file) => total + statSync(join(root, 'dist', file)).size, 0)
    expect(size).toBeGreaterThan(0)
    expect(size).toBeLessThan(1024 * 1024)
  })
})
