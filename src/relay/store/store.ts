import type { EventOutcome } from '../model/event.js'
import type { RunState, StepRef } from '../model/run.js'
import type { StoreOperations } from './operations/index.js'
import type { Dialect } from './query.js'

/** What an outbox job does, by name: `send` (a step), `notify-registry`; handlers say more. */
export type JobKind = string

export interface NewJob {
  kind: JobKind
  runId: string
  /** The step a job is about, for `send`. */
  ref: StepRef | null
  generation: number | null
  /** What else the job's handler needs (JSON), e.g. which notification. */
  args: Record<string, unknown> | null
  /** Epoch milliseconds. */
  dueAt: number
}

export interface Job extends NewJob {
  id: number
  tries: number
  lastError: string | null
}

/** The step a callback token reports for. */
export interface TokenRecord {
  runId: string
  ref: StepRef
  generation: number
}

/**
 * A search of the runs. Text is matched case-insensitively, as a glob when it holds `*` or `?`
 * (matching the whole text), else as a part of it; every condition given must hold.
 */
export interface RunFilter {
  /** The image: `acme/app`, `acme/*`, `docker.io/acme/app`, `docker.io/acme/app:v1`. */
  repository?: string
  chain?: string
  state?: RunState
  /** The whole tag, or a glob of it. */
  tag?: string
  /** The start of the digest: `sha256:4b4f…`, or its hex alone. */
  digest?: string
  pusher?: string
  /** ISO 8601: runs started at or after it. */
  since?: string
  /** ISO 8601: runs started before it. */
  until?: string
  /** Words of a search box, each found in the image, the chain, the pusher or the digest. */
  words?: string[]
}

/** A search of the events; `repository` and `tag` as in `RunFilter`, held by one push of it. */
export interface EventFilter {
  source?: string
  outcome?: EventOutcome
  repository?: string
  tag?: string
  /** ISO 8601: events received at or after it. */
  since?: string
  /** ISO 8601: events received before it. */
  until?: string
}

export type { Page } from './paging.js'

/** Everything the relay keeps. Each method is one transaction. */
export interface Store extends StoreOperations {
  readonly dialect: Dialect
  migrate(): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>
}

/** The outbox: what its runner needs. */
export type QueueStore = Pick<
  Store,
  'claimJobs' | 'renewLeases' | 'finishJob' | 'rescheduleJob' | 'outboxDepth'
>

/** What the write path for run state needs. */
export type RunStore = Pick<
  Store,
  | 'recordEvent'
  | 'addRuns'
  | 'getEvent'
  | 'getRun'
  | 'saveTransition'
  | 'recordRefusedCallback'
  | 'addToken'
  | 'findToken'
  | 'startAttempt'
  | 'recordAttempts'
  | 'attemptsFor'
  | 'overdueSteps'
  | 'lastSuccess'
  | 'addRunToken'
  | 'findRunToken'
>

/** What the API and the pages read. */
export type HistoryStore = Pick<
  Store,
  | 'getEvent'
  | 'listEvents'
  | 'getRun'
  | 'getRuns'
  | 'listRuns'
  | 'latestRuns'
  | 'attemptsFor'
  | 'callbacksFor'
  | 'earlierAttempts'
  | 'countRunsByState'
  | 'outboxDepth'
  | 'runVersions'
>

/** Write slots shared by every relay of a database (GitHub's secondary rate limit). */
export type SlotStore = Pick<Store, 'reserveSlot'>
