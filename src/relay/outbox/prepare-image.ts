import type { Logger } from 'pino'
import type { Chain } from '../config/settings.js'
import type { ImageReader } from '../deliverers/registry-reader.js'
import { countRequests, type Metrics } from '../metrics.js'
import type { Image, RunNote, SourceCommit } from '../model/run.js'
import { unpinnedNote } from '../runs/effects.js'
import type { RunService } from '../runs/service.js'
import { sourceCommitOf } from '../runs/source-commit.js'
import type { RunStore } from '../store/store.js'
import type { JobHandler, JobResult } from './runner.js'

export interface PrepareImageDeps {
  store: Pick<RunStore, 'getRun' | 'recordAttempts'>
  runs: Pick<RunService, 'prepared'>
  images: ImageReader
  chains: () => readonly Chain[]
  /** Where the relay's GitHub shows repositories: https://github.com, or a GitHub Enterprise Server. */
  githubWebUrl: string
  retryDelay: (tries: number) => number
  /** Tries of a registry that answers 5xx, 429 or nothing, before the run goes on without. */
  tries: number
  logger: Logger
  metrics?: Metrics
  now: () => Date
}

/**
 * `prepare` jobs: before a new run's first step, pins its tag to the digest the registry has for
 * it and finds the commit the image was built from (for `report_to_commit`): from the start
 * request, GitHub Packages' labels, or the image's OCI labels. What cannot be read is noted in
 * the run's history, and the run goes on: reading the image never stops a chain.
 */
export function prepareImageHandler(deps: PrepareImageDeps): JobHandler {
  return async (job): Promise<JobResult> => {
    const run = await deps.store.getRun(job.runId)
    // Prepared already (a job run again after a crash), or cancelled meanwhile.
    if (run?.state !== 'running' || run.steps[0]?.state !== 'queued') return { kind: 'done' }
    const chain = deps.chains().find((c) => c.name === run.chain)
    const reports = Boolean(chain?.reportToCommit)
    const at = deps.now().toISOString()
    const notes: RunNote[] = []
    const note = (text: string) => notes.push({ at, text })
    let image: Image = run.image
    let sourceCommit: SourceCommit | null = run.sourceCommit
    const whyNoCommit: string[] = []

    if (reports && sourceCommit === null && run.push.labels) {
      const found = sourceCommitOf(run.push.labels, deps.githubWebUrl, 'github-packages')
      if ('problem' in found) whyNoCommit.push(`in GitHub Packages' labels, ${found.problem}`)
      else sourceCommit = found
    }
    const want = {
      digest: image.tag !== null && image.digest === null,
      labels: reports && sourceCommit === null,
    }
    if (want.digest || want.labels) {
      const read = await deps.images.read(image, want)
      await deps.store.recordAttempts(
        read.attempts.map((a) => ({
          ...a,
          runId: run.id,
          runAttempt: run.attempt,
          step: null,
          phase: 'main' as const,
          branch: 0,
          kind: 'image-read' as const,
        })),
      )
      countRequests(deps.metrics, 'image-read', read.attempts)
      if (read.problem !== null && read.retryable && job.tries + 1 < deps.tries) {
        const delay = deps.retryDelay(job.tries)
        deps.logger.warn(
          { run: run.id, image: image.reference, retryInMs: Math.round(delay) },
          'run %s: could not read the image: %s; trying again',
          run.id,
          read.problem,
        )
        return { kind: 'later', at: deps.now().getTime() + delay, error: read.problem }
      }
      if (want.digest && read.digest !== null) image = { ...image, digest: read.digest }
      else if (want.digest) {
        note(unpinnedNote(String(image.tag), read.problem ?? 'the registry gave none'))
      }
      if (want.labels && read.labels !== null) {
        const found = sourceCommitOf(read.labels, deps.githubWebUrl, 'oci-labels')
        if ('problem' in found) whyNoCommit.push(`in its OCI labels, ${found.problem}`)
        else sourceCommit = found
      } else if (want.labels) {
        whyNoCommit.push(`its OCI labels could not be read (${read.problem})`)
      }
    }
    if (reports && sourceCommit === null) {
      note(
        `No commit statuses: neither the start request nor the image names a GitHub repository and commit${
          whyNoCommit.length ? `: ${whyNoCommit.join('; ')}` : ''
        }. Label the image with org.opencontainers.image.source and org.opencontainers.image.revision, or start the chain with the hookchain Action.`,
      )
    }
    for (const { text } of notes) deps.logger.info({ run: run.id }, 'run %s: %s', run.id, text)
    await deps.runs.prepared(run.id, { image, sourceCommit, notes })
    return { kind: 'done' }
  }
}
