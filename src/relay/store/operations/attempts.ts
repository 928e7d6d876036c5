import type { Attempt } from '../../model/attempt.js'
import { inList } from '../paging.js'
import { all, get, type Operation, operation, placeholders, run } from '../query.js'
import { ATTEMPT_COLUMNS, type AttemptRow, attemptParams, toAttempt } from '../rows.js'

const INSERT_ATTEMPT = `INSERT INTO attempts (${ATTEMPT_COLUMNS.join(', ')}) VALUES (${placeholders(ATTEMPT_COLUMNS.length)})`

function* insertAttempt(attempt: Attempt): Operation<void> {
  yield* run(INSERT_ATTEMPT, attemptParams(attempt))
}

export const attemptOperations = {
  /**
   * Records an attempt before it is sent, so that a relay dying in flight still leaves it in the
   * history. Returns its id, for `recordAttempts` to replace with what really happened.
   */
  startAttempt: operation('statement', function* (_dialect, attempt: Attempt) {
    const row = yield* get<{ id: number | string }>(
      `${INSERT_ATTEMPT} RETURNING id`,
      attemptParams(attempt),
    )
    return Number(row?.id)
  }),

  recordAttempts: operation('write', function* (_dialect, attempts: Attempt[], replacing?: number) {
    if (replacing !== undefined) yield* run('DELETE FROM attempts WHERE id = ?', [replacing])
    for (const attempt of attempts) yield* insertAttempt(attempt)
  }),

  /** The attempts of these runs, oldest first. */
  attemptsFor: operation('read', function* (_dialect, runIds: readonly string[]) {
    if (runIds.length === 0) return []
    const rows = yield* all<AttemptRow>(
      `SELECT * FROM attempts WHERE ${inList('run_id', runIds.length)} ORDER BY id`,
      runIds,
    )
    return rows.map(toAttempt)
  }),
}
