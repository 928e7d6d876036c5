import type { Callback } from '../../shared/callback.js'
import type { Attempt, AttemptKind } from '../model/attempt.js'
import type { CallbackRecord } from '../model/callback.js'
import type { EventOutcome, EventRecord } from '../model/event.js'
import type {
  Decision,
  Phase,
  Run,
  RunNote,
  RunOrigin,
  RunState,
  SourceCommit,
  Step,
  StepKind,
  StepState,
} from '../model/run.js'
import type { PushEvent } from '../sources/types.js'
import type { Job, NewJob } from './store.js'

/** Row shapes shared by the SQLite and PostgreSQL stores, and their mapping to the domain. */
export interface EventRow {
  id: string
  source: string
  delivery_id: string
  received_at: string
  outcome: string
  reason: string | null
  content_type: string | null
  payload: string
  pushes: string
  run_ids: string
  duplicates: number | string
  last_duplicate_at: string | null
}

export interface RunRow {
  id: string
  event_id: string
  chain: string
  source: string
  repository: string
  state: string
  push: string
  image: string
  step_timeout_ms: number | string
  created_at: string
  finished_at: string | null
  version: number
  attempt: number
  source_commit: string | null
  origin: string | null
  notes: string | null
  /** The image's reference, lower-cased (a generated column): what a search by image compares. */
  reference_lower: string
}

export interface StepRow {
  run_id: string
  phase: string
  idx: number
  branch: number
  kind: string
  target: string
  event_type: string | null
  state: string
  description: string | null
  context: string | null
  target_url: string | null
  generation: number
  started_at: string | null
  dispatched_at: string | null
  finished_at: string | null
  deadline: string | null
  timeout_ms: number | string | null
  require_mode: string | null
  decision: string | Decision | null
  callbacks_dropped: number | null
}

export interface JobRow {
  id: number | string
  kind: string
  run_id: string
  phase: string
  idx: number | null
  branch: number
  generation: number | null
  args: string | null
  due_at: number | string
  tries: number
  last_error: string | null
}

export interface AttemptRow {
  run_id: string
  run_attempt: number
  phase: string
  idx: number | null
  branch: number
  kind: string
  target: string
  request: string | null
  status: number | null
  error: string | null
  duration_ms: number
  started_at: string
}

export interface CallbackRow {
  run_id: string
  run_attempt: number
  phase: string
  idx: number
  branch: number
  generation: number
  received_at: string
  body: string
  outcome: string
}

export function toEvent(row: EventRow): EventRecord {
  return {
    id: row.id,
    source: row.source,
    deliveryId: row.delivery_id,
    receivedAt: row.received_at,
    outcome: row.outcome as EventOutcome,
    reason: row.reason,
    contentType: row.content_type,
    payload: row.payload,
    pushes: JSON.parse(row.pushes) as PushEvent[],
    runIds: JSON.parse(row.run_ids) as string[],
    duplicates: Number(row.duplicates ?? 0),
    lastDuplicateAt: row.last_duplicate_at ?? null,
  }
}

export function eventParams(e: EventRecord) {
  return [
    e.id,
    e.source,
    e.deliveryId,
    e.receivedAt,
    e.outcome,
    e.reason,
    e.contentType,
    e.payload,
    JSON.stringify(e.pushes),
    JSON.stringify(e.runIds),
  ]
}

export function toRun(row: RunRow, steps: StepRow[]): Run {
  return {
    id: row.id,
    eventId: row.event_id,
    chain: row.chain,
    source: row.source,
    push: JSON.parse(row.push) as PushEvent,
    image: JSON.parse(row.image) as Run['image'],
    state: row.state as RunState,
    stepTimeoutMs: Number(row.step_timeout_ms),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    version: row.version,
    attempt: row.attempt,
    ...stepTree(steps),
    sourceCommit: row.source_commit ? (JSON.parse(row.source_commit) as SourceCommit) : null,
    origin: row.origin ? (JSON.parse(row.origin) as RunOrigin) : null,
    notes: row.notes ? (JSON.parse(row.notes) as RunNote[]) : [],
  }
}

/** Step rows as the run's steps: each phase in order, a group's branches under it. */
export function stepTree(rows: readonly StepRow[]): Pick<Run, 'steps' | 'onFailure'> {
  const sorted = [...rows].sort((a, b) => a.idx - b.idx || a.branch - b.branch)
  const phase = (name: Phase) => {
    const top = sorted.filter((r) => r.phase === name && r.branch === 0).map(toStep)
    for (const row of sorted) {
      if (row.phase === name && row.branch > 0) top[row.idx - 1]?.branches.push(toStep(row))
    }
    return top
  }
  return { steps: phase('main'), onFailure: phase('on_failure') }
}

function toStep(row: StepRow): Step {
  return {
    index: row.branch || row.idx,
    kind: row.kind as StepKind,
    target: row.target,
    eventType: row.event_type,
    state: row.state as StepState,
    description: row.description,
    context: row.context,
    targetUrl: row.target_url,
    generation: row.generation,
    startedAt: row.started_at,
    dispatchedAt: row.dispatched_at,
    finishedAt: row.finished_at,
    deadline: row.deadline,
    timeoutMs: row.timeout_ms === null ? null : Number(row.timeout_ms),
    callbacksDropped: row.callbacks_dropped ?? 0,
    require: row.require_mode as Step['require'],
    branches: [],
    decision:
      typeof row.decision === 'string' ? (JSON.parse(row.decision) as Decision) : row.decision,
  }
}

/** The columns of a run row, in the order of `runParams`. */
export const RUN_COLUMNS = [
  'id',
  'event_id',
  'chain',
  'source',
  'repository',
  'state',
  'push',
  'image',
  'step_timeout_ms',
  'created_at',
  'finished_at',
  'version',
  'attempt',
  'source_commit',
  'origin',
  'notes',
] as const

export function runParams(r: Run) {
  return [
    r.id,
    r.eventId,
    r.chain,
    r.source,
    r.image.repository,
    r.state,
    JSON.stringify(r.push),
    JSON.stringify(r.image),
    r.stepTimeoutMs,
    r.createdAt,
    r.finishedAt,
    r.version,
    r.attempt,
    r.sourceCommit === null ? null : JSON.stringify(r.sourceCommit),
    r.origin === null ? null : JSON.stringify(r.origin),
    JSON.stringify(r.notes),
  ]
}

/** The columns that say which step a row is. */
export const STEP_KEY = ['run_id', 'phase', 'idx', 'branch'] as const

/** The columns of a step row besides its key, in the order of `stepParams`. */
export const STEP_COLUMNS = [
  'kind',
  'target',
  'event_type',
  'state',
  'description',
  'context',
  'target_url',
  'generation',
  'started_at',
  'dispatched_at',
  'finished_at',
  'deadline',
  'timeout_ms',
  'require_mode',
  'decision',
] as const

export function stepParams(s: Step) {
  return [
    s.kind,
    s.target,
    s.eventType,
    s.state,
    s.description,
    s.context,
    s.targetUrl,
    s.generation,
    s.startedAt,
    s.dispatchedAt,
    s.finishedAt,
    s.deadline,
    s.timeoutMs,
    s.require,
    s.decision === null ? null : JSON.stringify(s.decision),
  ]
}

/** Every step of a run, branches included, with its key: `[run_id, phase, idx, branch]` and the step. */
export function keyedSteps(run: Run): { key: [string, Phase, number, number]; step: Step }[] {
  const out: { key: [string, Phase, number, number]; step: Step }[] = []
  for (const [phase, steps] of [
    ['main', run.steps],
    ['on_failure', run.onFailure],
  ] as const) {
    for (const step of steps) {
      out.push({ key: [run.id, phase, step.index, 0], step })
      for (const branch of step.branches) {
        out.push({ key: [run.id, phase, step.index, branch.index], step: branch })
      }
    }
  }
  return out
}

/** Every step of these runs as a row: the STEP_KEY, then the STEP_COLUMNS. */
export function stepRows(runs: readonly Run[]): unknown[][] {
  return runs.flatMap((r) => keyedSteps(r).map(({ key, step }) => [...key, ...stepParams(step)]))
}

/** The columns of an outbox row, in the order of `jobParams`. */
export const JOB_COLUMNS = [
  'kind',
  'run_id',
  'phase',
  'idx',
  'branch',
  'generation',
  'args',
  'due_at',
] as const

export function jobParams(j: NewJob) {
  return [
    j.kind,
    j.runId,
    j.ref?.phase ?? 'main',
    j.ref?.index ?? null,
    j.ref?.branch ?? 0,
    j.generation,
    j.args === null ? null : JSON.stringify(j.args),
    j.dueAt,
  ]
}

export function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    kind: row.kind,
    runId: row.run_id,
    ref:
      row.idx === null ? null : { phase: row.phase as Phase, index: row.idx, branch: row.branch },
    generation: row.generation,
    args: row.args === null ? null : (JSON.parse(row.args) as Record<string, unknown>),
    dueAt: Number(row.due_at),
    tries: row.tries,
    lastError: row.last_error,
  }
}

export const ATTEMPT_COLUMNS = [
  'run_id',
  'run_attempt',
  'phase',
  'idx',
  'branch',
  'kind',
  'target',
  'request',
  'status',
  'error',
  'duration_ms',
  'started_at',
] as const

export function toAttempt(row: AttemptRow): Attempt {
  return {
    runId: row.run_id,
    runAttempt: row.run_attempt,
    step: row.idx,
    phase: row.phase as Phase,
    branch: row.branch,
    kind: row.kind as AttemptKind,
    target: row.target,
    request: row.request === null ? null : JSON.parse(row.request),
    status: row.status,
    error: row.error,
    durationMs: row.duration_ms,
    startedAt: row.started_at,
  }
}

export function attemptParams(a: Attempt) {
  return [
    a.runId,
    a.runAttempt,
    a.phase,
    a.step,
    a.branch,
    a.kind,
    a.target,
    a.request === undefined ? null : JSON.stringify(a.request),
    a.status,
    a.error,
    Math.round(a.durationMs),
    a.startedAt,
  ]
}

export const CALLBACK_COLUMNS = [
  'run_id',
  'run_attempt',
  'phase',
  'idx',
  'branch',
  'generation',
  'received_at',
  'body',
  'outcome',
] as const

export function toCallback(row: CallbackRow): CallbackRecord {
  return {
    runId: row.run_id,
    runAttempt: row.run_attempt,
    step: row.idx,
    phase: row.phase as Phase,
    branch: row.branch,
    generation: row.generation,
    receivedAt: row.received_at,
    body: JSON.parse(row.body) as Callback,
    outcome: row.outcome,
  }
}

export function callbackParams(c: CallbackRecord) {
  return [
    c.runId,
    c.runAttempt,
    c.phase,
    c.step,
    c.branch,
    c.generation,
    c.receivedAt,
    JSON.stringify(c.body),
    c.outcome,
  ]
}
