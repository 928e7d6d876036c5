import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { run } from '../../src/action/main.js'
import { captureStdout, parseOutputFile, stubActionEnv } from './action-env.js'
import { type CallbackReceiver, RUN_RUNNING, startCallbackReceiver } from './callback-receiver.js'

const fixtures = join(import.meta.dirname, '../fixtures/junit')

let dir: string
let outputFile: string
let summaryFile: string
let receiver: CallbackReceiver | undefined

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-main-'))
  outputFile = join(dir, 'output')
  // @actions/core keeps the first summary path it sees, so every test shares this file.
  summaryFile = join(dir, 'step-summary.md')
  copyFileSync(join(fixtures, 'pytest.xml'), join(dir, 'pytest.xml'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(() => {
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
})
afterEach(async () => {
  vi.unstubAllEnvs()
  process.exitCode = undefined
  await receiver?.close()
  receiver = undefined
})

async function runAction(
  inputs: Record<string, string>,
  answers?: Parameters<typeof startCallbackReceiver>[0],
) {
  receiver = await startCallbackReceiver(answers)
  stubActionEnv(
    { 'callback-url': receiver.callbackUrl, 'job-status': 'success', ...inputs },
    {
      GITHUB_OUTPUT: outputFile,
      GITHUB_STEP_SUMMARY: summaryFile,
      GITHUB_WORKFLOW: 'Integration tests',
      GITHUB_JOB: 'pytest',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/integration-tests',
      GITHUB_RUN_ID: '42',
      HOOKCHAIN_BACKOFF_MS: '1',
    },
  )
  const stdout = await captureStdout(run)
  return {
    stdout,
    exitCode: process.exitCode,
    outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    bodies: receiver.requests.map((request) => JSON.parse(request.body) as unknown),
    token: receiver.token,
  }
}

describe('run', () => {
  it('reports the job to the relay and sets the outputs', async () => {
    const result = await runAction({})
    expect(result.exitCode).toBeUndefined()
    expect(result.bodies).toEqual([
      {
        state: 'success',
        description: 'Job succeeded',
        context: 'Integration tests / pytest',
        target_url: 'https://github.com/acme/integration-tests/actions/runs/42',
      },
    ])
    expect(result.outputs).toEqual({
      state: 'success',
      description: 'Job succeeded',
      context: 'Integration tests / pytest',
      'target-url': 'https://github.com/acme/integration-tests/actions/runs/42',
      'chain-state': 'running',
    })
    expect(result.summary).toContain('<tr><td>Chain state</td><td><code>running</code></td></tr>')
  })

  it('masks the callback token before it logs anything', async () => {
    const result = await runAction({})
    const lines = result.stdout.split('\n')
    expect(lines[0]).toBe(`::add-mask::${result.token}`)
    expect(lines.slice(1).join('\n')).not.toContain(result.token)
    expect(result.stdout).toContain('/callbacks/***')
  })

  it('reports the JUnit results, and a failure when a test failed', async () => {
    const result = await runAction({ 'test-results': join(dir, '*.xml') })
    expect(result.bodies).toEqual([
      expect.objectContaining({ state: 'failure', description: '2 of 6 tests FAILED, 1 skipped' }),
    ])
    expect(result.outputs['chain-state']).toBe('running')
    expect(result.summary).toContain(
      '<tr><td>Failed tests</td><td><code>tests.test_deploy.test_rolls_back_on_failure</code><br><code>tests.test_deploy.test_talks_to_registry</code></td></tr>',
    )
  })

  it('links the run page the relay answers with, in the summary and the run-url output', async () => {
    const runUrl = 'https://relay.example.com/runs/0193b0c0-0000-7000-8000-000000000001'
    const result = await runAction({}, [{ status: 200, body: { ...RUN_RUNNING, run_url: runUrl } }])
    expect(result.outputs['run-url']).toBe(runUrl)
    expect(result.summary).toContain(
      `<tr><td>Relay run</td><td><a href="${runUrl}">${runUrl}</a></td></tr>`,
    )
  })

  it('warns, and tells the job status, when no test result file matches', async () => {
    const result = await runAction({ 'test-results': join(dir, 'reports/**/*.xml') })
    expect(result.exitCode).toBeUndefined()
    expect(result.stdout).toContain('::warning::test-results: no file matched')
    expect(result.bodies).toEqual([
      expect.objectContaining({ state: 'success', description: 'Job succeeded' }),
    ])
  })

  it('fails the step with the relay’s reason when it rejects the callback', async () => {
    const result = await runAction({}, [
      {
        status: 404,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({ title: 'Not Found', detail: 'Unknown or expired callback token' }),
      },
    ])
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(
      '::error::The relay rejected the callback with HTTP 404 Not Found: Unknown or expired callback token',
    )
    expect(result.outputs.state).toBe('success')
    expect(result.summary).toContain('not delivered: The relay rejected the callback')
  })

  it('fails the step on a wrong input without calling the relay', async () => {
    const result = await runAction({ state: 'green' })
    expect(result.exitCode).toBe(1)
    expect(result.stdout).toContain(
      '::error::Input "state" must be one of success, failure, error, pending',
    )
    expect(result.bodies).toEqual([])
  })

  it('retries until the relay takes the callback', async () => {
    const result = await runAction({}, [
      { status: 503 },
      { status: 503 },
      { status: 200, body: RUN_RUNNING },
    ])
    expect(result.exitCode).toBeUndefined()
    expect(result.bodies).toHaveLength(3)
    expect(result.summary).toContain('delivered (HTTP 200, attempt 3 of 4)')
  })

  it('still succeeds, with a warning, when the job summary cannot be written', async () => {
    rmSync(summaryFile)
    mkdirSync(summaryFile)
    try {
      receiver = await startCallbackReceiver()
      stubActionEnv(
        { 'callback-url': receiver.callbackUrl, 'job-status': 'success' },
        { GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile },
      )
      const stdout = await captureStdout(run)
      expect(process.exitCode).toBeUndefined()
      expect(stdout).toContain('::warning::Could not write the job summary: ')
      expect(receiver.requests).toHaveLength(1)
    } finally {
      rmSync(summaryFile, { recursive: true })
      writeFileSync(summaryFile, '')
    }
  })
})
