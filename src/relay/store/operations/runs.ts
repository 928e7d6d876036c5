import type { CallbackRecord } from '../../model/callback.js'
import type { Run, RunState } from '../../model/run.js'
import { inList, page, whereClause } from '../paging.js'
import { all, get, type Operation, operation, placeholders, run } from '../query.js'
import {
  type CallbackRow,
  callbackParams,
  type RunRow,
  STEP_COLUMNS,
  type StepRow,
  stepParams,
  toCallback,
  toRun,
} from '../rows.js'
import type { NewJob, RunFilter, TokenRecord } from '../store.js'
import { insertJobs } from './events.js'

const UPDATE_STEP = `UPDATE steps SET ${STEP_COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE run_id = ? AND idx = ?`
const INSERT_CALLBACK = `INSERT INTO callbacks (run_id, idx, generation, received_at, body, outcome) VALUES (${placeholders(6)})`

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
      const { where, params } = whereClause(
        { repository: filter.repository, chain: filter.chain, state: filter.state },
        before,
      )
      const runs = yield* runsWithSteps(dialect, `${where} ORDER BY id DESC LIMIT ?`, [
        ...params,
        limit + 1,
      ])
      return page(runs, limit)
    },
  ),

  /**
   * Saves a transition computed from the run at `run.version - 1`, with the jobs it causes and the
   * callback that caused it. Returns false, saving nothing, when another writer got there first.
   */
  saveTransition: operation(
    'write',
    function* (_dialect, next: Run, jobs: NewJob[], callback?: CallbackRecord) {
      // Under PostgreSQL's READ COMMITTED a concurrent writer's UPDATE waits for ours, then finds the new version.
      const updated = yield* run(
        'UPDATE runs SET state = ?, finished_at = ?, version = ? WHERE id = ? AND version = ?',
        [next.state, next.finishedAt, next.version, next.id, next.version - 1],
      )
      if (updated === 0) return false
      for (const s of next.steps) yield* run(UPDATE_STEP, [...stepParams(s), next.id, s.index])
      yield* insertJobs(jobs)
      if (callback) yield* insertCallback(callback)
      return true
    },
  ),

  /**
   * A callback that changed nothing: kept while its step has fewer than `keep` such, else only
   * counted (`callbacks_dropped`), so that a client calling an ended step cannot grow its history.
   */
  recordRefusedCallback: operation(
    'write',
    function* (_dialect, callback: CallbackRecord, keep: number) {
      const kept = yield* get<{ n: number | string }>(
        "SELECT count(*) AS n FROM callbacks WHERE run_id = ? AND idx = ? AND outcome <> 'accepted'",
        [callback.runId, callback.step],
      )
      if (Number(kept?.n ?? 0) < keep) yield* insertCallback(callback)
      else
        yield* run(
          'UPDATE steps SET callbacks_dropped = callbacks_dropped + 1 WHERE run_id = ? AND idx = ?',
          [callback.runId, callback.step],
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
    yield* run('DELETE FROM tokens WHERE run_id = ? AND idx = ?', [token.runId, token.step])
    yield* run('INSERT INTO tokens (hash, run_id, idx, generation) VALUES (?, ?, ?, ?)', [
      hash,
      token.runId,
      token.step,
      token.generation,
    ])
  }),

  findToken: operation('read', function* (_dialect, hash: string) {
    const row = yield* get<{ run_id: string; idx: number; generation: number }>(
      'SELECT run_id, idx, generation FROM tokens WHERE hash = ?',
      [hash],
    )
    return row ? { runId: row.run_id, step: row.idx, generation: row.generation } : null
  }),

  /** Steps past their deadline that have not ended. */
  overdueSteps: operation('read', function* (_dialect, nowIso: string, limit: number) {
    const rows = yield* all<{ run_id: string; idx: number }>(
      "SELECT run_id, idx FROM steps WHERE deadline IS NOT NULL AND deadline <= ? AND state IN ('dispatching', 'running', 'pending') ORDER BY deadline LIMIT ?",
      [nowIso, limit],
    )
    return rows.map((r) => ({ runId: r.run_id, step: r.idx }))
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
