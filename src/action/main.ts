import * as core from '@actions/core'
import { getErrorMessage } from '../shared/errors.js'
import { composeCallback } from './callback-body.js'
import { type Delivery, sendCallback } from './callback-client.js'
import { redactCallbackUrl } from './callback-url.js'
import { setCallbackOutputs, setRunOutputs } from './outputs.js'
import { getSettings, type ReportSettings } from './settings.js'
import { type ReportedCallback, writeSummary } from './summary.js'
import type { TestResults } from './test-results.js'
import { USER_AGENT } from './version.js'

/**
 * Reports this job's result to the hookchain relay, or with `chain` starts a chain there.
 * Never throws: failures fail the step.
 */
export async function run(): Promise<void> {
  try {
    const settings = getSettings()
    if (settings.mode === 'start') {
      // Loaded only to start a chain: a report never loads, nor pays for, start mode's code.
      const { startChain } = await import('./start/start-chain.js')
      await startChain(settings)
    } else {
      await report(settings)
    }
  } catch (error) {
    fail(error)
  }
}

/** The one place where an error becomes the step's failure. */
export function fail(error: unknown): void {
  core.setFailed(getErrorMessage(error))
}

async function report(settings: ReportSettings): Promise<void> {
  const tests = await readTests(settings.testResults)
  const { callback, warnings } = composeCallback(settings, tests?.counts ?? null)
  const failedTests = tests
    ? { names: tests.failed, total: tests.counts.failures + tests.counts.errors }
    : undefined
  for (const warning of warnings) core.warning(warning)
  setCallbackOutputs(callback)

  core.info(
    `Reporting ${callback.state} to ${redactCallbackUrl(settings.callbackUrl)}: ${callback.description ?? ''}`,
  )
  let delivery: Delivery
  try {
    delivery = await sendCallback(settings.callbackUrl, callback, {
      timeoutMs: settings.timeoutMs,
      retries: settings.retries,
      backoffMs: settings.backoffMs,
      userAgent: USER_AGENT,
      log: (message) => core.info(message),
    })
  } catch (error) {
    await summarise({
      callback,
      chainState: '',
      delivery: `not delivered: ${getErrorMessage(error)}`,
      failedTests,
    })
    throw error
  }

  setRunOutputs({ runUrl: delivery.runUrl || undefined, chainState: delivery.chainState })
  const chain = delivery.chainState ? `; chain state: ${delivery.chainState}` : ''
  core.info(`The relay took the callback (HTTP ${delivery.status})${chain}.`)
  const attempts = `attempt ${delivery.attempts} of ${settings.retries + 1}`
  await summarise({
    callback,
    chainState: delivery.chainState,
    delivery: `delivered (HTTP ${delivery.status}, ${attempts})`,
    runUrl: delivery.runUrl,
    failedTests,
  })
}

/** The summary only shows what happened: failing to write it must not change the outcome. */
async function summarise(report: ReportedCallback): Promise<void> {
  try {
    await writeSummary(report)
  } catch (error) {
    core.warning(`Could not write the job summary: ${getErrorMessage(error)}`)
  }
}

async function readTests(patterns: string[]): Promise<TestResults | null> {
  if (patterns.length === 0) return null
  // Loaded only when needed: the glob and XML libraries are most of the bundle's start-up time.
  const { readTestResults } = await import('./test-results.js')
  const results = await readTestResults(patterns)
  if (results.files.length === 0) {
    core.warning(
      `test-results: no file matched ${patterns.join(', ')}; the description tells the job status instead.`,
    )
    return null
  }
  core.info(`Read ${results.files.length} JUnit file(s): ${results.files.join(', ')}`)
  return results
}
