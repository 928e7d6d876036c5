import { inList } from '../paging.js'
import { all, operation, run } from '../query.js'
import { type JobRow, toJob } from '../rows.js'

export const queueOperations = {
  /** Leases up to `limit` due jobs to `owner` until `now + leaseMs`; expired leases are taken over. */
  claimJobs: operation(
    'statement',
    function* (_dialect, owner: string, now: number, leaseMs: number, limit: number) {
      // SKIP LOCKED: PostgreSQL relays claiming at the same moment pass over each other's rows instead
      // of waiting for them, and a row taken meanwhile fails the re-checked lease condition.
      const rows = yield* all<JobRow>(
        {
          sqlite: `UPDATE outbox SET lease_owner = ?, lease_until = ?
          WHERE id IN (SELECT id FROM outbox WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at, id LIMIT ?)
          RETURNING *`,
          postgres: `UPDATE outbox SET lease_owner = ?, lease_until = ?
          WHERE id IN (SELECT id FROM outbox WHERE due_at <= ? AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
          RETURNING *`,
        },
        [owner, now + leaseMs, now, now, limit],
      )
      return rows.map(toJob).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id)
    },
  ),

  /** Extends to `until` the leases `owner` still holds on these jobs; returns how many. */
  renewLeases: operation(
    'statement',
    function* (_dialect, owner: string, ids: readonly number[], until: number) {
      if (ids.length === 0) return 0
      return yield* run(
        `UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND ${inList('id', ids.length)}`,
        [until, owner, ...ids],
      )
    },
  ),

  finishJob: operation('statement', function* (_dialect, id: number, owner: string) {
    yield* run('DELETE FROM outbox WHERE id = ? AND lease_owner = ?', [id, owner])
  }),

  /**
   * Gives a job back to the outbox until `dueAt`. It counts as a try unless `tried` is false:
   * a job that was never sent (no write slot yet) keeps its place in the backoff.
   */
  rescheduleJob: operation(
    'statement',
    function* (
      _dialect,
      id: number,
      owner: string,
      dueAt: number,
      error: string,
      { tried = true }: { tried?: boolean } = {},
    ) {
      yield* run(
        'UPDATE outbox SET due_at = ?, tries = tries + ?, last_error = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?',
        [dueAt, tried ? 1 : 0, error, id, owner],
      )
    },
  ),

  outboxDepth: operation('read', function* () {
    const [row] = yield* all<{ n: number | string }>('SELECT count(*) AS n FROM outbox')
    return Number(row?.n ?? 0)
  }),
}
