import { Worker } from 'node:worker_threads'
import type { Store } from './store.js'
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

  /**
   * `onFailure` hears once when the thread stops other than by `close()` (it threw, ran out of
   * memory): every call fails from then on, so the owner had better start again.
   */
  constructor(
    readonly path: string,
    private readonly onFailure: (error: Error) => void = () => {},
  ) {
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
    if (!this.gone) {
      this.gone = reason
      this.onFailure(reason)
    }
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

  async close() {
    if (this.gone) return
    try {
      await this.call('close')
    } finally {
      this.gone = new Error('the SQLite store is closed')
      await this.thread.terminate()
    }
  }

  async recordEvent(...args: Parameters<Store['recordEvent']>) {
    const result = await this.call('recordEvent', ...args)
    // The thread sends back only a repeated delivery's first record (see sqlite-worker.ts).
    return result.duplicate ? result : { duplicate: false, event: args[0] }
  }

  // Every other call crosses to the thread as it is.
  readonly migrate: Store['migrate'] = (...args) => this.call('migrate', ...args)
  readonly ping: Store['ping'] = (...args) => this.call('ping', ...args)
  readonly addRuns: Store['addRuns'] = (...args) => this.call('addRuns', ...args)
  readonly getEvent: Store['getEvent'] = (...args) => this.call('getEvent', ...args)
  readonly listEvents: Store['listEvents'] = (...args) => this.call('listEvents', ...args)
  readonly getRun: Store['getRun'] = (...args) => this.call('getRun', ...args)
  readonly listRuns: Store['listRuns'] = (...args) => this.call('listRuns', ...args)
  readonly saveTransition: Store['saveTransition'] = (...args) =>
    this.call('saveTransition', ...args)
  readonly recordCallback: Store['recordCallback'] = (...args) =>
    this.call('recordCallback', ...args)
  readonly callbacksFor: Store['callbacksFor'] = (...args) => this.call('callbacksFor', ...args)
  readonly addToken: Store['addToken'] = (...args) => this.call('addToken', ...args)
  readonly findToken: Store['findToken'] = (...args) => this.call('findToken', ...args)
  readonly claimJobs: Store['claimJobs'] = (...args) => this.call('claimJobs', ...args)
  readonly renewLeases: Store['renewLeases'] = (...args) => this.call('renewLeases', ...args)
  readonly finishJob: Store['finishJob'] = (...args) => this.call('finishJob', ...args)
  readonly rescheduleJob: Store['rescheduleJob'] = (...args) => this.call('rescheduleJob', ...args)
  readonly outboxDepth: Store['outboxDepth'] = (...args) => this.call('outboxDepth', ...args)
  readonly startAttempt: Store['startAttempt'] = (...args) => this.call('startAttempt', ...args)
  readonly recordAttempts: Store['recordAttempts'] = (...args) =>
    this.call('recordAttempts', ...args)
  readonly attemptsFor: Store['attemptsFor'] = (...args) => this.call('attemptsFor', ...args)
  readonly overdueSteps: Store['overdueSteps'] = (...args) => this.call('overdueSteps', ...args)
  readonly reserveSlot: Store['reserveSlot'] = (...args) => this.call('reserveSlot', ...args)
  readonly countRunsByState: Store['countRunsByState'] = (...args) =>
    this.call('countRunsByState', ...args)
  readonly prune: Store['prune'] = (...args) => this.call('prune', ...args)
}

function startThread(path: string): Worker {
  const workerData = { path }
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./sqlite-worker.js', import.meta.url), { workerData })
  // Run from the TypeScript sources (tests, tsx): a worker does not inherit the tsx loader, so it
  // registers tsx itself. Without tsx, Node is left to load the TypeScript (Node 22.6 and later).
  const entry = new URL('./sqlite-worker.ts', import.meta.url)
  let tsx: string
  try {
    tsx = import.meta.resolve('tsx/esm/api')
  } catch {
    return new Worker(entry, { workerData })
  }
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`,
    { eval: true, workerData },
  )
}
