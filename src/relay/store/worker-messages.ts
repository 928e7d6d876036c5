import type { Store } from './store.js'

/** A store method, as SqliteWorkerStore sends it to its thread. */
export type StoreMethod = Exclude<keyof Store, 'dialect'>

export interface StoreCall {
  id: number
  method: StoreMethod
  args: unknown[]
}

export type StoreReply = { id: number; value: unknown } | { id: number; error: PlainError }

/**
 * Collects what is handed over in one turn of the event loop and passes it to `send` together at
 * the turn's end: one message across the thread boundary for a burst, not one each.
 */
export function perTurn<T>(send: (items: T[]) => void): (item: T) => void {
  let items: T[] = []
  return (item) => {
    items.push(item)
    if (items.length > 1) return
    setImmediate(() => {
      const ready = items
      items = []
      send(ready)
    })
  }
}

/** An error as plain data: a thread boundary keeps an Error's message but drops its `code`. */
export interface PlainError {
  name: string
  message: string
  code?: string
  stack?: string
}

export function toPlainError(error: unknown): PlainError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack ? { stack: error.stack } : {}),
  }
}

export function fromPlainError(plain: PlainError): Error {
  const error = new Error(plain.message)
  error.name = plain.name
  if (plain.code !== undefined) Object.assign(error, { code: plain.code })
  if (plain.stack !== undefined) error.stack = plain.stack
  return error
}
