import { Worker } from 'node:worker_threads'
import type { Run } from '../chains/run.js'
import type {
  Attempt,
  CallbackRecord,
  EventFilter,
  EventRecord,
  NewJob,
  RunFilter,
  Store,
  TokenRecord,
} from './store.js'
import {
  fromPlainError,
  type StoreCall,
  type StoreMethod,
  type StoreReply,
} from './worker-messages.js'

interface Waiting {
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * The embedded store as the relay runs it: a SqliteStore on a thread of its own. better-sqlite3
 * works synchronously, so on the main thread every commit (and its fsync) would stop the event
 * loop; here the main thread only posts calls and takes answers, and the commits of one batch
 * run while it serves the next requests.
 */
export class SqliteWorkerStore implements Store {
  readonly dialect = 'sqlite' as const
  private readonly thread: Worker
  private readonly waiting = new Map<number, Waiting>()
  private lastId = 0
  /** Why calls can no longer be answered: the store closed, or its thread died. */
  private gone: Error | null = null

  constructor(readonly path: string) {
    this.thread = startThread(path)
    this.thread.on('message', (reply: StoreReply) => {
      const waiting = this.waiting.get(reply.id)
      if (!waiting) return
      this.waiting.delete(reply.id)
      if ('error' in reply) waiting.reject(fromPlainError(reply.error))
      else waiting.resolve(reply.value)
    })
    this.thread.on('error', (error) => this.stop(error))
    this.thread.on('exit', (code) =>
      this.stop(new Error(`the SQLite store's thread exited (code ${code})`)),
    )
  }

  private stop(reason: Error): void {
    this.gone ??= reason
    for (const { reject } of this.waiting.values()) reject(reason)
    this.waiting.clear()
  }

  private call<M extends StoreMethod>(
    method: M,
    ...args: Parameters<Store[M]>
  ): ReturnType<Store[M]> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(this.gone)
        return
      }
      const id = ++this.lastId
      this.waiting.set(id, { resolve, reject })
      this.thread.postMessage({ id, method, args } satisfies StoreCall)
    }) as ReturnType<Store[M]>
  }

  migrate() {
    return this.call('migrate')
  }
  ping() {
    return this.call('ping')
  }
  async close() {
    if (this.gone) return
    try {
      await this.call('close')
    } finally {
      this.gone = new Error('the SQLite store is closed')
      await this.thread.terminate()
    }
  }
  recordEvent(event: EventRecord, runs: Run[], jobs: NewJob[]) {
    return this.call('recordEvent', event, runs, jobs)
  }
  addRuns(eventId: string, runs: Run[], jobs: NewJob[]) {
    return this.call('addRuns', eventId, runs, jobs)
  }
  getEvent(id: string) {
    return this.call('getEvent', id)
  }
  listEvents(filter: EventFilter, before: string | null, limit: number) {
    return this.call('listEvents', filter, before, limit)
  }
  getRun(id: string) {
    return this.call('getRun', id)
  }
  listRuns(filter: RunFilter, before: string | null, limit: number) {
    return this.call('listRuns', filter, before, limit)
  }
  saveTransition(run: Run, jobs: NewJob[], callback?: CallbackRecord) {
    return this.call('saveTransition', run, jobs, callback)
  }
  recordCallback(callback: CallbackRecord) {
    return this.call('recordCallback', callback)
  }
  callbacksFor(runId: string) {
    return this.call('callbacksFor', runId)
  }
  addToken(hash: string, token: TokenRecord) {
    return this.call('addToken', hash, token)
  }
  findToken(hash: string) {
    return this.call('findToken', hash)
  }
  claimJobs(owner: string, now: number, leaseMs: number, limit: number) {
    return this.call('claimJobs', owner, now, leaseMs, limit)
  }
  renewLeases(owner: string, ids: readonly number[], until: number) {
    return this.call('renewLeases', owner, ids, until)
  }
  finishJob(id: number, owner: string) {
    return this.call('finishJob', id, owner)
  }
  rescheduleJob(
    id: number,
    owner: string,
    dueAt: number,
    error: string,
    options?: { tried?: boolean },
  ) {
    return this.call('rescheduleJob', id, owner, dueAt, error, options)
  }
  outboxDepth() {
    return this.call('outboxDepth')
  }
  startAttempt(attempt: Attempt) {
    return this.call('startAttempt', attempt)
  }
  recordAttempts(attempts: Attempt[], replacing?: number) {
    return this.call('recordAttempts', attempts, replacing)
  }
  attemptsFor(runIds: readonly string[]) {
    return this.call('attemptsFor', runIds)
  }
  overdueSteps(nowIso: string, limit: number) {
    return this.call('overdueSteps', nowIso, limit)
  }
  reserveSlot(key: string, intervalMs: number, now: number, latest?: number) {
    return this.call('reserveSlot', key, intervalMs, now, latest)
  }
  countRunsByState() {
    return this.call('countRunsByState')
  }
  prune(beforeIso: string, limit: number) {
    return this.call('prune', beforeIso, limit)
  }
}

function startThread(path: string): Worker {
  const workerData = { path }
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData })
  // Run from the TypeScript sources (tests, tsx): a worker does not inherit the tsx loader.
  const tsx = import.meta.resolve('tsx/esm/api')
  const entry = new URL('./sqlite-worker.ts', import.meta.url).href
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}) })`,
    { eval: true, workerData },
  )
}
