import Database from 'better-sqlite3'

interface RunRow {
  id: string
  event_id: string
  state: string
  finished_at: string | null
}

interface StepRow {
  run_id: string
  phase: string
  branch: number
  idx: number
  state: string
  generation: number
}

const ACTIVE = new Set(['dispatching', 'running', 'pending'])

/**
 * What is wrong with a relay's SQLite database, read from a read-only connection: each rule is
 * one a committed state must keep, whatever requests came before. Empty when consistent.
 * `settled`: the worker has had time to drop the jobs of runs that ended meanwhile.
 */
export function storedStateProblems(file: string, options: { settled: boolean }): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const problems: string[] = []
    const all = <T>(sql: string) => db.prepare(sql).all() as T[]

    const integrity = all<{ integrity_check: string }>('PRAGMA integrity_check')
    if (integrity[0]?.integrity_check !== 'ok')
      problems.push(`integrity: ${JSON.stringify(integrity)}`)
    for (const row of all<{ table: string; parent: string }>('PRAGMA foreign_key_check'))
      problems.push(`a row of ${row.table} points at a missing ${row.parent}`)

    const runs = all<RunRow>('SELECT id, event_id, state, finished_at FROM runs')
    const steps = all<StepRow>(
      'SELECT run_id, phase, idx, branch, state, generation FROM steps ORDER BY run_id, idx',
    )
    const stepsOf = new Map<string, StepRow[]>()
    for (const step of steps.filter((s) => s.phase === 'main' && s.branch === 0))
      stepsOf.set(step.run_id, [...(stepsOf.get(step.run_id) ?? []), step])

    for (const run of runs) {
      const own = stepsOf.get(run.id) ?? []
      const states = own.map((s) => s.state)
      const say = (what: string) =>
        problems.push(`run ${run.id} (${run.state}, steps ${states.join(',')}): ${what}`)
      if (own.length === 0) say('has no steps')
      if (own.some((s, i) => s.idx !== i + 1)) say('steps are not numbered 1..n')
      const active = own.filter((s) => ACTIVE.has(s.state))
      const firstNotSuccess = own.findIndex((s) => s.state !== 'success')
      const after = firstNotSuccess < 0 ? [] : own.slice(firstNotSuccess + 1)
      const waiting = run.state === 'running' ? 'queued' : 'skipped'
      if (after.some((s) => s.state !== waiting))
        say(`a step after the current one is not ${waiting}`)
      switch (run.state) {
        case 'success':
          if (firstNotSuccess >= 0) say('succeeded with a step that did not')
          if (!run.finished_at) say('ended without finished_at')
          break
        case 'running':
          if (active.length !== 1) say(`has ${active.length} active steps, not 1`)
          else if (own[firstNotSuccess] !== active[0])
            say('its active step is not its first unfinished one')
          if (run.finished_at) say('is running with a finished_at')
          break
        case 'failure':
        case 'error':
          if (active.length) say('ended with an active step')
          if (own[firstNotSuccess]?.state !== run.state)
            say(`its first unfinished step is not ${run.state}`)
          if (!run.finished_at) say('ended without finished_at')
          break
        default:
          say('has an unknown state')
      }
    }

    const runById = new Map(runs.map((r) => [r.id, r]))
    const jobs = all<{
      id: number
      kind: string
      run_id: string
      idx: number | null
      generation: number | null
    }>('SELECT id, kind, run_id, idx, generation FROM outbox')
    for (const job of jobs) {
      const run = runById.get(job.run_id)
      if (!run) problems.push(`outbox job ${job.id} is for a run that does not exist`)
      else if (job.kind === 'send' && run.state !== 'running' && options.settled)
        problems.push(
          `outbox job ${job.id} still sends a step of run ${run.id}, which ended ${run.state}`,
        )
      else if (job.kind !== 'send' && job.kind !== 'notify-registry')
        problems.push(`outbox job ${job.id} has an unknown kind ${job.kind}`)
    }
    for (const step of steps) {
      if (step.state !== 'dispatching') continue
      const queued = jobs.some(
        (j) =>
          j.kind === 'send' &&
          j.run_id === step.run_id &&
          j.idx === step.idx &&
          j.generation === step.generation,
      )
      if (!queued)
        problems.push(
          `step ${step.idx} of run ${step.run_id} waits for a dispatch no job will send`,
        )
    }

    for (const token of all<{ run_id: string; idx: number; generation: number }>(
      'SELECT run_id, idx, generation FROM tokens',
    )) {
      const step = stepsOf.get(token.run_id)?.[token.idx - 1]
      if (!step)
        problems.push(
          `a callback token is for step ${token.idx} of run ${token.run_id}, which does not exist`,
        )
      else if (token.generation > step.generation)
        problems.push(`a callback token of run ${token.run_id} is from a future generation`)
    }

    const events = all<{ id: string; outcome: string; run_ids: string }>(
      'SELECT id, outcome, run_ids FROM events',
    )
    const eventIds = new Set(events.map((e) => e.id))
    for (const event of events) {
      const ids = JSON.parse(event.run_ids) as string[]
      for (const id of ids) {
        if (runById.get(id)?.event_id !== event.id)
          problems.push(`event ${event.id} lists run ${id}, which is not its own`)
      }
      if (event.outcome === 'started' && ids.length === 0)
        problems.push(`event ${event.id} started no run`)
      if (event.outcome !== 'started' && ids.length > 0)
        problems.push(`event ${event.id} is ${event.outcome} yet has runs`)
    }
    for (const run of runs) {
      if (!eventIds.has(run.event_id)) problems.push(`run ${run.id} comes from a missing event`)
    }
    return problems
  } finally {
    db.close()
  }
}
