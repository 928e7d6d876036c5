// The thread that owns the SQLite connection of a SqliteWorkerStore: it runs each store call it
// is sent and answers with the result, or with the error in a form that survives the crossing.
import { parentPort, workerData } from 'node:worker_threads'
import { SqliteStore } from './sqlite-store.js'
import type { Store } from './store.js'
import { perTurn, type StoreCall, type StoreReply, toPlainError } from './worker-messages.js'

if (!parentPort) throw new Error('sqlite-worker.js runs as a worker thread of SqliteWorkerStore')
const port = parentPort

const { path } = workerData as { path: string }
let store: SqliteStore | null = null
let openError: unknown = null
try {
  store = new SqliteStore(path)
} catch (error) {
  // Every call answers with it, so that the caller sees why the database would not open.
  openError = error
}

/** The answers ready in a turn (a group commit's) go as one message. */
const answer = perTurn<StoreReply>((ready) => {
  try {
    port.postMessage(ready)
  } catch {
    for (const reply of ready) {
      try {
        port.postMessage([reply])
      } catch (error) {
        // A value that cannot cross (a bug of the store): the caller gets the error, not a hang.
        port.postMessage([{ id: reply.id, error: toPlainError(error) }])
      }
    }
  }
})

async function perform(method: StoreCall['method'], args: unknown[]): Promise<unknown> {
  if (!store) {
    if (method === 'close') return
    throw openError
  }
  return (store[method] as (...values: unknown[]) => Promise<unknown>).apply(store, args)
}

function run({ id, method, args }: StoreCall): void {
  perform(method, args).then(
    (value) => answer({ id, value: method === 'recordEvent' ? newEventElided(value) : value }),
    (error: unknown) => answer({ id, error: toPlainError(error) }),
  )
}

/**
 * A new event is stored as it was sent, so its record need not cross back (it is the body of the
 * request, on the busiest path): the caller has it. A repeated delivery's first record does.
 */
function newEventElided(value: unknown): unknown {
  const result = value as Awaited<ReturnType<Store['recordEvent']>>
  return result.duplicate ? result : { duplicate: false }
}

port.on('message', (calls: StoreCall[]) => {
  for (const call of calls) run(call)
})
