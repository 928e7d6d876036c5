import { inList } from '../paging.js'
import { all, operation, run } from '../query.js'

/** The tables whose rows belong to a run, deleted before the run itself. */
const RUN_TABLES = [
  'attempts',
  'callbacks',
  'tokens',
  'run_tokens',
  'run_attempts',
  'outbox',
  'steps',
] as const

export const retentionOperations = {
  /**
   * Deletes up to `limit` ended runs created before `beforeIso` (none when null) with all they own,
   * then events received before it that no run refers to, and empties the payloads of up to `limit`
   * rejected deliveries received before `rejectedBeforeIso`. Returns how many of each.
   */
  prune: operation(
    'write',
    function* (_dialect, beforeIso: string | null, rejectedBeforeIso: string, limit: number) {
      const payloads = yield* run(
        "UPDATE events SET payload = '' WHERE id IN (SELECT id FROM events WHERE outcome = 'rejected' AND received_at < ? AND payload <> '' ORDER BY id LIMIT ?)",
        [rejectedBeforeIso, limit],
      )
      if (beforeIso === null) return { runs: 0, events: 0, payloads }
      const ids = (yield* all<{ id: string }>(
        {
          sqlite:
            "SELECT id FROM runs WHERE created_at < ? AND state <> 'running' ORDER BY id LIMIT ?",
          postgres:
            "SELECT id FROM runs WHERE created_at < ? AND state <> 'running' ORDER BY id LIMIT ? FOR UPDATE",
        },
        [beforeIso, limit],
      )).map((r) => r.id)
      if (ids.length) {
        for (const table of RUN_TABLES) {
          yield* run(`DELETE FROM ${table} WHERE ${inList('run_id', ids.length)}`, ids)
        }
        yield* run(`DELETE FROM runs WHERE ${inList('id', ids.length)}`, ids)
      }
      const events = yield* run(
        'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.event_id = events.id) ORDER BY id LIMIT ?)',
        [beforeIso, limit],
      )
      return { runs: ids.length, events, payloads }
    },
  ),
}
