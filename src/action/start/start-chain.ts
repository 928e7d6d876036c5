import * as core from '@actions/core'
import { getErrorMessage } from '../../shared/errors.js'
import { setRunOutputs } from '../outputs.js'
import { appendSummary } from '../runner-files.js'
import type { StartSettings } from '../settings.js'
import type { ChainRun } from './chain-run.js'
import { followRun } from './follow-run.js'
import { fetchIdToken } from './oidc-token.js'
import { type Connection, pollRun, startRun } from './relay-api.js'
import { chainEnded, formatMinutes, StepPrinter, summaryOf, waitRanOut } from './run-report.js'

/**
 * Start mode: starts the chain on the relay for the image, and with `wait` follows it to its
 * end. Throws, with the sentence the step fails with, when it cannot start the chain or the
 * chain does not succeed in time.
 */
export async function startChain(settings: StartSettings): Promise<void> {
  for (const warning of settings.warnings) core.warning(warning)
  const connection: Connection = {
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    backoffMs: settings.backoffMs,
    log: (message) => core.info(message),
  }
  const idToken = await fetchIdToken(settings.idToken, connection)
  core.setSecret(idToken)

  const { repository, sha } = settings.source
  core.info(
    `Starting chain "${settings.chain}" on ${settings.relayUrl.href} for ${settings.image} (${repository} at ${sha}).`,
  )
  const started = await startRun(settings, idToken, connection)
  core.setSecret(started.runToken)
  setRunOutputs({ runId: started.run.id, runUrl: started.url, chainState: started.run.state })
  core.info(`Chain "${settings.chain}" started: ${started.url}`)
  if (!settings.wait) {
    summarise(started.run, started.url)
    return
  }

  let last: ChainRun = started.run
  const printer = new StepPrinter()
  core.info(`Waiting up to ${formatMinutes(settings.waitMs)} for the chain to end.`)
  try {
    const followed = await followRun({
      run: started.run,
      deadline: Date.now() + settings.waitMs,
      poll: (etag, waitSeconds) =>
        pollRun(
          settings.relayUrl,
          { id: started.run.id, token: started.runToken },
          etag,
          waitSeconds,
          settings.timeoutMs,
        ),
      onRun: (run) => {
        last = run
        for (const line of printer.linesFor(run)) core.info(line)
      },
      backoffMs: settings.backoffMs,
      log: connection.log,
    })
    if (!followed.ended) {
      throw new Error(waitRanOut(followed.run, started.url, settings.waitMs, followed.lastProblem))
    }
    const end = chainEnded(followed.run, started.url)
    if (!end.ok) throw new Error(end.message)
    core.info(end.message)
  } finally {
    setRunOutputs({ chainState: last.state })
    summarise(last, started.url)
  }
}

/** The summary only shows what happened: failing to write it must not change the outcome. */
function summarise(run: ChainRun, runUrl: string): void {
  try {
    appendSummary(summaryOf(run, runUrl))
  } catch (error) {
    core.warning(`Could not write the job summary: ${getErrorMessage(error)}`)
  }
}
