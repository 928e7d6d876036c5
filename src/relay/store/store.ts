import type { Callback } from '../../shared/callback.js'
import type { Run, RunState } from '../chains/run.js'
import type { PushEvent, SourceName } from '../sources/types.js'

/** `started`: it started runs. `unmatched`: pushes no chain wants. `ignored`: no push in it. `rejected`: authenticated, but not a payload of its source. */
export type EventOutcome = 'started' | 'unmatched' | 'ignored' | 'rejected'

export interface EventRecord {
  id: string
  source: SourceName
  deliveryId: string
  receivedAt: string
  outcome: EventOutcome
  reason: string | null
  contentType: string | null
  /** The body as received (UTF-8). */
  payload: string
  pushes: PushEvent[]
  runIds: string[]
}

export type JobKind = 'send' | 'notify-registry'

export interface NewJob {
  kind: JobKind
  runId: string
  /** The step to send, for `send`. */
  step: number | null
  generation: number | null
  /** Epoch milliseconds. */
  dueAt: number
}

export interface Job extends NewJob {
  id: number
  tries: number
  lastError: string | null
}

export type AttemptKind = 'dispatch' | 'webhook' | 'registry-callback'

/** One HTTP request, as the run's history shows it. */
export interface AttemptRecord {
  /** `acme/deploy` for a dispatch, else the URL without secrets. */
  target: string
  /** What was sent (JSON-able), with secrets and tokens redacted. */
  request: unknown
  /** HTTP status; null when no response came. */
  status: number | null
  /** What went wrong, in words a person can act on; null when the request succeeded. */
  error: string | null
  durationMs: number
  /** ISO 8601. */
  startedAt: string
}

export interface Attempt extends AttemptRecord {
  runId: string
  /** null for the registry callback, which belongs to the run. */
  step: number | null
  kind: AttemptKind
}

export interface CallbackRecord {
  runId: string
  step: number
  generation: number
  receivedAt: string
  body: Callback
  /** `accepted`, or why it changed nothing (`step-ended`, `stale`). */
  outcome: string
}

export interface TokenRecord {
  runId: string
  step: number
  generation: number
}

export interface RunFilter {
  repository?: string
  chain?: string
  state?: RunState
}

export interface EventFilter {
  source?: SourceName
  outcome?: EventOutcome
}

export interface Page<T> {
  items: T[]
  /** The id to pass as `before` for the next (older) page, or null at the end. */
  nextCursor: string | null
}

/** Everything the relay keeps. Each method is one transaction. */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres'
  migrate(): Promise<void>
  ping(): Promise<void>
  close(): Promise<void>

  /**
   * Stores a delivery with the runs it starts and their first jobs, atomically. A delivery id
   * seen before for this source stores nothing and returns the first delivery's record.
   */
  recordEvent(
    event: EventRecord,
    runs: Run[],
    jobs: NewJob[],
  ): Promise<{ duplicate: boolean; event: EventRecord }>
  /** Runs started again from a stored event (redelivery), with their first jobs. */
  addRuns(eventId: string, runs: Run[], jobs: NewJob[]): Promise<void>
  getEvent(id: string): Promise<EventRecord | null>
  listEvents(filter: EventFilter, before: string | null, limit: number): Promise<Page<EventRecord>>

  getRun(id: string): Promise<Run | null>
  listRuns(filter: RunFilter, before: string | null, limit: number): Promise<Page<Run>>
  /**
   * Saves a transition computed from the run at `run.version - 1`, with the jobs it causes and the
   * callback that caused it. Returns false, saving nothing, when another writer got there first.
   */
  saveTransition(run: Run, jobs: NewJob[], callback?: CallbackRecord): Promise<boolean>
  recordCallback(callback: CallbackRecord): Promise<void>
  callbacksFor(runId: string): Promise<CallbackRecord[]>

  addToken(hash: string, token: TokenRecord): Promise<void>
  findToken(hash: string): Promise<TokenRecord | null>

  /** Leases up to `limit` due jobs to `owner` until `now + leaseMs`; expired leases are taken over. */
  claimJobs(owner: string, now: number, leaseMs: number, limit: number): Promise<Job[]>
  /** Extends to `until` the leases `owner` still holds on these jobs; returns how many. */
  renewLeases(owner: string, ids: readonly number[], until: number): Promise<number>
  finishJob(id: number, owner: string): Promise<void>
  /**
   * Gives a job back to the outbox until `dueAt`. It counts as a try unless `tried` is false:
   * a job that was never sent (no write slot yet) keeps its place in the backoff.
   */
  rescheduleJob(
    id: number,
    owner: string,
    dueAt: number,
    error: string,
    options?: { tried?: boolean },
  ): Promise<void>
  outboxDepth(): Promise<number>

  /**
   * Records an attempt before it is sent, so that a relay dying in flight still leaves it in the
   * history. Returns its id, for `recordAttempts` to replace with what really happened.
   */
  startAttempt(attempt: Attempt): Promise<number>
  recordAttempts(attempts: Attempt[], replacing?: number): Promise<void>
  /** The attempts of these runs, oldest first. */
  attemptsFor(runIds: readonly string[]): Promise<Attempt[]>

  /** Steps past their deadline that have not ended. */
  overdueSteps(nowIso: string, limit: number): Promise<{ runId: string; step: number }[]>

  /**
   * Takes the next free slot of a paced resource shared by every relay on this database (GitHub
   * writes under one token): slots are `intervalMs` apart. Returns the slot's time (epoch ms),
   * at or after `now`. With `latest` (at or after `now`), a slot later than it is not taken: the
   * answer is then the next free slot, after `latest`, and nothing changes.
   */
  reserveSlot(key: string, intervalMs: number, now: number, latest?: number): Promise<number>

  countRunsByState(): Promise<Partial<Record<RunState, number>>>
  /**
   * Deletes up to `limit` ended runs created before `beforeIso` with all they own, then events
   * received before it that no run refers to. Returns how many runs and events went.
   */
  prune(beforeIso: string, limit: number): Promise<{ runs: number; events: number }>
}

export class StoreConflictError extends Error {
  override name = 'StoreConflictError'
}
