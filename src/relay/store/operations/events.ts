import type { EventRecord } from '../../model/event.js'
import type { Run } from '../../model/run.js'
import { equalTo, olderThan, page } from '../paging.js'
import { all, get, type Operation, operation, placeholders, run, storable } from '../query.js'
import {
  type EventRow,
  eventParams,
  JOB_COLUMNS,
  jobParams,
  RUN_COLUMNS,
  runParams,
  STEP_COLUMNS,
  STEP_KEY,
  stepRows,
  toEvent,
} from '../rows.js'
import { eventConditions, whereOf } from '../search.js'
import type { EventFilter, NewJob } from '../store.js'

const INSERT_EVENT = `INSERT INTO events (id, source, delivery_id, received_at, outcome, reason, content_type, payload, pushes, run_ids) VALUES (${placeholders(10)}) ON CONFLICT (source, delivery_id) DO NOTHING`
const INSERT_RUN = `INSERT INTO runs (${RUN_COLUMNS.join(', ')}) VALUES (${placeholders(RUN_COLUMNS.length)})`
const STEP_ALL = [...STEP_KEY, ...STEP_COLUMNS]
const INSERT_STEP = `INSERT INTO steps (${STEP_ALL.join(', ')}) VALUES (${placeholders(STEP_ALL.length)})`
const INSERT_JOB = `INSERT INTO outbox (${JOB_COLUMNS.join(', ')}) VALUES (${placeholders(JOB_COLUMNS.length)})`

/**
 * PostgreSQL takes an event with its runs, their steps and their outbox jobs in one statement, one
 * round trip (a transaction of its own). The rows go as JSON arrays and take the tables' column
 * types (json_populate_recordset); they are added only with the event: a repeated delivery adds
 * nothing and returns no row.
 */
const RECORD_EVENT_AT_ONCE = `WITH event AS (
  INSERT INTO events (id, source, delivery_id, received_at, outcome, reason, content_type, payload, pushes, run_ids)
  VALUES (${placeholders(10)})
  ON CONFLICT (source, delivery_id) DO NOTHING RETURNING id
), new_runs AS (
  INSERT INTO runs (${RUN_COLUMNS.join(', ')})
  SELECT ${RUN_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::runs, ?)
  WHERE EXISTS (SELECT FROM event)
), new_steps AS (
  INSERT INTO steps (${STEP_ALL.join(', ')})
  SELECT ${STEP_ALL.join(', ')} FROM json_populate_recordset(NULL::steps, ?)
  WHERE EXISTS (SELECT FROM event)
), new_jobs AS (
  INSERT INTO outbox (${JOB_COLUMNS.join(', ')})
  SELECT ${JOB_COLUMNS.join(', ')} FROM json_populate_recordset(NULL::outbox, ?)
  WHERE EXISTS (SELECT FROM event)
)
SELECT id FROM event`

/** Rows as a JSON array of objects keyed by column, for json_populate_recordset. */
function jsonRows(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return JSON.stringify(
    rows.map((row) => Object.fromEntries(row.map((v, i) => [columns[i], storable(v)]))),
  )
}

export function* insertRuns(runs: readonly Run[]): Operation<void> {
  for (const r of runs) {
    yield* run(INSERT_RUN, runParams(r))
    for (const row of stepRows([r])) yield* run(INSERT_STEP, row)
  }
}

export function* insertJobs(jobs: readonly NewJob[]): Operation<void> {
  for (const job of jobs) yield* run(INSERT_JOB, jobParams(job))
}

export const eventOperations = {
  /**
   * Stores a delivery with the runs it starts and their first jobs, atomically. A delivery id
   * seen before for this source stores nothing but its count and time, and returns the first
   * delivery's record.
   */
  recordEvent: operation(
    'statement',
    function* (dialect, event: EventRecord, runs: Run[], jobs: NewJob[]) {
      const added =
        dialect === 'postgres'
          ? (yield* all(RECORD_EVENT_AT_ONCE, [
              ...eventParams(event),
              jsonRows(RUN_COLUMNS, runs.map(runParams)),
              jsonRows(STEP_ALL, stepRows(runs)),
              jsonRows(JOB_COLUMNS, jobs.map(jobParams)),
            ])).length
          : yield* run(INSERT_EVENT, eventParams(event))
      if (added > 0) {
        if (dialect === 'sqlite') {
          yield* insertRuns(runs)
          yield* insertJobs(jobs)
        }
        return { duplicate: false, event }
      }
      yield* run(
        'UPDATE events SET duplicates = duplicates + 1, last_duplicate_at = ? WHERE source = ? AND delivery_id = ?',
        [event.receivedAt, event.source, event.deliveryId],
      )
      const first = yield* get<EventRow>(
        'SELECT * FROM events WHERE source = ? AND delivery_id = ?',
        [event.source, event.deliveryId],
      )
      if (!first) throw new Error(`event ${event.deliveryId} of ${event.source} vanished`)
      return { duplicate: true, event: toEvent(first) }
    },
  ),

  /** Runs started again from a stored event (redelivery), with their first jobs. */
  addRuns: operation('write', function* (_dialect, eventId: string, runs: Run[], jobs: NewJob[]) {
    const row = yield* get<{ run_ids: string }>(
      {
        sqlite: 'SELECT run_ids FROM events WHERE id = ?',
        postgres: 'SELECT run_ids FROM events WHERE id = ? FOR UPDATE',
      },
      [eventId],
    )
    if (!row) throw new Error(`event ${eventId} does not exist`)
    yield* insertRuns(runs)
    yield* insertJobs(jobs)
    const runIds = [...(JSON.parse(row.run_ids) as string[]), ...runs.map((r) => r.id)]
    yield* run("UPDATE events SET run_ids = ?, outcome = 'started', reason = NULL WHERE id = ?", [
      JSON.stringify(runIds),
      eventId,
    ])
  }),

  getEvent: operation('read', function* (_dialect, id: string) {
    const row = yield* get<EventRow>('SELECT * FROM events WHERE id = ?', [id])
    return row ? toEvent(row) : null
  }),

  listEvents: operation(
    'read',
    function* (dialect, filter: EventFilter, before: string | null, limit: number) {
      const { sql, params } = whereOf([
        ...equalTo({ 'events.source': filter.source, 'events.outcome': filter.outcome }),
        ...eventConditions(dialect, filter),
        ...olderThan('events.id', before),
      ])
      const rows = yield* all<EventRow>(`SELECT * FROM events ${sql} ORDER BY id DESC LIMIT ?`, [
        ...params,
        limit + 1,
      ])
      return page(rows.map(toEvent), limit)
    },
  ),
}
