import { Worker } from 'node:worker_threads'
import { operationMethods } from './operation-methods.js'
import type { StoreOperations } from './operations/index.js'
import type { Store } from './store.js'
import {
  fromPlainError,
  perTurn,
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
/** Its methods are made in the constructor, one per operation of the catalogue. */
export interface SqliteWorkerStore extends StoreOperations {}

// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class SqliteWorkerStore implements Store {
  readonly dialect = 'sqlite' as const
  private readonly thread: Worker
  private readonly waiting = new Map<number, Waiting>()
  private lastId = 0
  /**
   * The calls of a turn go as one message: the requests that arrived together reach the thread
   * together, so that their writes share a commit, rather than the first one committing alone.
   */
  private readonly post = perTurn<StoreCall>((calls) => {
    if (!this.gone) this.thread.postMessage(calls)
  })
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
    this.thread.on('message', (replies: StoreReply[]) => {
      for (const reply of replies) {
        const waiting = this.waiting.get(reply.id)
        if (!waiting) continue
        this.waiting.delete(reply.id)
        if ('error' in reply) waiting.reject(fromPlainError(reply.error))
        else waiting.resolve(reply.value)
      }
    })
    this.thread.on('error', (error) => this.stop(error))
    // Every call crosses to the thread as it is, but for a new event (see sqlite-worker.ts).
    Object.assign(
      this,
      operationMethods((name, args) => this.call(name, args)),
    )
    this.recordEvent = async (...args) => {
      const result = await this.call('recordEvent', args)
      return result.duplicate ? result : { duplicate: false, event: args[0] }
    }
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

  private call<M extends StoreMethod>(method: M, args: unknown[]): ReturnType<Store[M]> {
    return new Promise((resolve, reject) => {
      if (this.gone) {
        reject(this.gone)
        return
      }
      const id = ++this.lastId
      this.waiting.set(id, { resolve, reject })
      this.post({ id, method, args })
    }) as ReturnType<Store[M]>
  }

  async close() {
    if (this.gone) return
    try {
      await this.call('close', [])
    } finally {
      this.gone = new Error('the SQLite store is closed')
      await this.thread.terminate()
    }
  }

  readonly migrate = () => this.call('migrate', [])
  readonly ping = () => this.call('ping', [])
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
