import type { CallbackRecord } from '../../model/callback.js'
import type { Image, Phase, Run, RunAttempt, RunState, StepRef } from '../../model/run.js'
import { equalTo, inList, olderThan, page } from '../paging.js'
import { all, get, type Operation, operation, placeholders, run } from '../query.js'
import {
  CALLBACK_COLUMNS,
  type CallbackRow,
  callbackParams,
  keyedSteps,
  type RunRow,
  STEP_COLUMNS,
  STEP_KEY,
  type StepRow,
  stepParams,
  toCallback,
  toRun,
} from '../rows.js'
import { runConditions, whereOf } from '../search.js'
import type { NewJob, RunFilter, TokenRecord } from '../store.js'
import { insertJobs } from './events.js'

const UPDATE_STEP = `UPDATE steps SET ${STEP_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE ${STEP_KEY.map((c) => `${c} = ?`).join(' AND ')}`
const INSERT_CALLBACK = `INSERT INTO callbacks (${CALLBACK_COLUMNS.join(', ')}) VALUES (${placeholders(CALLBACK_COLUMNS.length)})`

type RunWithSteps = RunRow & { steps: StepRow[] }

/** PostgreSQL reads a run and its steps in one statement, so from one snapshot. */
const STEPS_OF_RUN =
  "(SELECT coalesce(json_agg(steps), '[]'::json) FROM steps WHERE steps.run_id = runs.id) AS steps"

/** Runs (rows in `where` order) with their steps. */
function* runsWithSteps(
  dialect: string,
  where: string,
  params: readonly unknown[],
): Operation<Run[]> {
  if (dialect === 'postgres') {
    const rows = yield* all<RunWithSteps>(
      `SELECT runs.*, ${STEPS_OF_RUN} FROM runs ${where}`,
      params,
    )
    return rows.map((r) => toRun(r, r.steps))
  }
  const rows = yield* all<RunRow>(`SELECT * FROM runs ${where}`, params)
  if (rows.length === 0) return []
  const steps = yield* all<StepRow>(
    `SELECT * FROM steps WHERE ${inList('run_id', rows.length)}`,
    rows.map((r) => r.id),
  )
  const byRun = new Map<string, StepRow[]>(rows.map((r) => [r.id, []]))
  for (const step of steps) byRun.get(step.run_id)?.push(step)
  return rows.map((r) => toRun(r, byRun.get(r.id) ?? []))
}

interface StepKeyRow {
  run_id: string
  phase: string
  idx: number
  branch: number
}

function refOf(row: StepKeyRow): StepRef {
  return { phase: row.phase as Phase, index: row.idx, branch: row.branch }
}

function* insertCallback(callback: CallbackRecord): Operation<void> {
  yield* run(INSERT_CALLBACK, callbackParams(callback))
}

export const runOperations = {
  getRun: operation('read', function* (dialect, id: string) {
    const [found] = yield* runsWithSteps(dialect, 'WHERE id = ?', [id])
    return found ?? null
  }),

  /** These runs, in no particular order; ids not found are left out. */
  getRuns: operation('read', function* (dialect, ids: readonly string[]) {
    if (ids.length === 0) return []
    return yield* runsWithSteps(dialect, `WHERE ${inList('id', ids.length)}`, ids)
  }),

  listRuns: operation(
    'read',
    function* (dialect, filter: RunFilter, before: string | null, limit: number) {
      const { sql, params } = whereOf([
        ...equalTo({ 'runs.state': filter.state }),
        ...runConditions(dialect, filter),
        ...olderThan('runs.id', before),
      ])
      const runs = yield* runsWithSteps(dialect, `${sql} ORDER BY id DESC LIMIT ?`, [
        ...params,
        limit + 1,
      ])
      return page(runs, limit)
    },
  ),

  /** The latest run of each of these chains, when it has one (the chains page). */
  latestRuns: operation('read', function* (dialect, chains: readonly string[]) {
    const found: Run[] = []
    for (const chain of chains) {
      const [latest] = yield* runsWithSteps(dialect, 'WHERE chain = ? ORDER BY id DESC LIMIT 1', [
        chain,
      ])
      if (latest) found.push(latest)
    }
    return found
  }),

  /**
   * Saves a transition computed from the run at `run.version - 1`, with the jobs it causes and the
   * callback that caused it; `earlier`, for a retry, is the attempt it leaves behind. Returns
   * false, saving nothing, when another writer got there first.
   */
  saveTransition: operation(
    'write',
    function* (
      _dialect,
      next: Run,
      jobs: NewJob[],
      callback?: CallbackRecord,
      earlier?: RunAttempt,
    ) {
      // Under PostgreSQL's READ COMMITTED a concurrent writer's UPDATE waits for ours, then finds the new version.
      const updated = yield* run(
        'UPDATE runs SET state = ?, finished_at = ?, version = ?, attempt = ?, image = ?, source_commit = ?, notes = ? WHERE id = ? AND version = ?',
        [
          next.state,
          next.finishedAt,
          next.version,
          next.attempt,
          JSON.stringify(next.image),
          next.sourceCommit === null ? null : JSON.stringify(next.sourceCommit),
          JSON.stringify(next.notes),
          next.id,
          next.version - 1,
        ],
      )
      if (updated === 0) return false
      for (const { key, step } of keyedSteps(next)) {
        yield* run(UPDATE_STEP, [...stepParams(step), ...key])
      }
      yield* insertJobs(jobs)
      if (callback) yield* insertCallback(callback)
      if (earlier) {
        yield* run(
          'INSERT INTO run_attempts (run_id, attempt, state, started_at, finished_at, steps) VALUES (?, ?, ?, ?, ?, ?)',
          [
            next.id,
            earlier.attempt,
            earlier.state,
            earlier.startedAt,
            earlier.finishedAt,
            JSON.stringify({ steps: earlier.steps, onFailure: earlier.onFailure }),
          ],
        )
      }
      return true
    },
  ),

  /** A run's earlier attempts, oldest first, as each ended. */
  earlierAttempts: operation('read', function* (_dialect, runId: string) {
    const rows = yield* all<{
      attempt: number
      state: string
      started_at: string
      finished_at: string | null
      steps: string
    }>('SELECT * FROM run_attempts WHERE run_id = ? ORDER BY attempt', [runId])
    return rows.map((row): RunAttempt => {
      const steps = JSON.parse(row.steps) as Pick<RunAttempt, 'steps' | 'onFailure'>
      return {
        attempt: row.attempt,
        state: row.state as RunState,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
        ...steps,
      }
    })
  }),

  /**
   * The image of the latest run of `chain` for `repository` that succeeded, started before the run
   * `before`: what a rollback goes back to.
   */
  lastSuccess: operation(
    'read',
    function* (_dialect, chain: string, repository: string, before: string) {
      const rest =
        "WHERE chain = ? AND repository = ? AND state = 'success' AND id < ? ORDER BY id DESC LIMIT 1"
      const row = yield* get<{ image: string }>(
        {
          // Without statistics SQLite would rather read back through every successful run.
          sqlite: `SELECT image FROM runs INDEXED BY runs_succeeded ${rest}`,
          postgres: `SELECT image FROM runs ${rest}`,
        },
        [chain, repository, before],
      )
      return row ? (JSON.parse(row.image) as Image) : null
    },
  ),

  /**
   * A callback that changed nothing: kept while its step has fewer than `keep` such, else only
   * counted (`callbacks_dropped`), so that a client calling an ended step cannot grow its history.
   */
  recordRefusedCallback: operation(
    'write',
    function* (_dialect, callback: CallbackRecord, keep: number) {
      const key = [callback.runId, callback.phase, callback.step, callback.branch]
      const kept = yield* get<{ n: number | string }>(
        "SELECT count(*) AS n FROM callbacks WHERE run_id = ? AND phase = ? AND idx = ? AND branch = ? AND outcome <> 'accepted'",
        key,
      )
      if (Number(kept?.n ?? 0) < keep) yield* insertCallback(callback)
      else
        yield* run(
          'UPDATE steps SET callbacks_dropped = callbacks_dropped + 1 WHERE run_id = ? AND phase = ? AND idx = ? AND branch = ?',
          key,
        )
    },
  ),

  callbacksFor: operation('read', function* (_dialect, runId: string) {
    const rows = yield* all<CallbackRow>('SELECT * FROM callbacks WHERE run_id = ? ORDER BY id', [
      runId,
    ])
    return rows.map(toCallback)
  }),

  /**
   * A step's new callback token. The step's earlier tokens stop working: a receiver may have
   * echoed one into an error text, and the step was dispatched again since.
   */
  addToken: operation('statement', function* (_dialect, hash: string, token: TokenRecord) {
    const { phase, index, branch } = token.ref
    yield* run('DELETE FROM tokens WHERE run_id = ? AND phase = ? AND idx = ? AND branch = ?', [
      token.runId,
      phase,
      index,
      branch,
    ])
    yield* run(
      'INSERT INTO tokens (hash, run_id, phase, idx, branch, generation) VALUES (?, ?, ?, ?, ?, ?)',
      [hash, token.runId, phase, index, branch, token.generation],
    )
  }),

  findToken: operation('read', function* (_dialect, hash: string) {
    const row = yield* get<StepKeyRow & { generation: number }>(
      'SELECT run_id, phase, idx, branch, generation FROM tokens WHERE hash = ?',
      [hash],
    )
    return row ? { runId: row.run_id, ref: refOf(row), generation: row.generation } : null
  }),

  /**
   * A token that reads one run (`GET /api/runs/<id>`), kept only as its hash; it goes with the
   * run when retention deletes it.
   */
  addRunToken: operation(
    'statement',
    function* (_dialect, hash: string, runId: string, createdAt: string) {
      yield* run('INSERT INTO run_tokens (hash, run_id, created_at) VALUES (?, ?, ?)', [
        hash,
        runId,
        createdAt,
      ])
    },
  ),

  /** The run a run token reads, or null. */
  findRunToken: operation('read', function* (_dialect, hash: string) {
    const row = yield* get<{ run_id: string }>('SELECT run_id FROM run_tokens WHERE hash = ?', [
      hash,
    ])
    return row?.run_id ?? null
  }),

  /** The version of each of these runs that exists: what a long poll compares. */
  runVersions: operation('read', function* (_dialect, ids: readonly string[]) {
    if (ids.length === 0) return []
    const rows = yield* all<{ id: string; version: number | string }>(
      `SELECT id, version FROM runs WHERE ${inList('id', ids.length)}`,
      ids,
    )
    return rows.map((row) => ({ id: row.id, version: Number(row.version) }))
  }),

  /** Steps past their deadline that have not ended. */
  overdueSteps: operation('read', function* (_dialect, nowIso: string, limit: number) {
    const rows = yield* all<StepKeyRow>(
      "SELECT run_id, phase, idx, branch FROM steps WHERE deadline IS NOT NULL AND deadline <= ? AND state IN ('dispatching', 'running', 'pending', 'waiting') ORDER BY deadline LIMIT ?",
      [nowIso, limit],
    )
    return rows.map((r) => ({ runId: r.run_id, ref: refOf(r) }))
  }),

  countRunsByState: operation('read', function* () {
    const rows = yield* all<{ state: RunState; n: number | string }>(
      'SELECT state, count(*) AS n FROM runs GROUP BY state',
    )
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)])) as Partial<
      Record<RunState, number>
    >
  }),
}
