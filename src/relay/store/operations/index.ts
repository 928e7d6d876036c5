import type { OperationSpec } from '../query.js'
import { attemptOperations } from './attempts.js'
import { eventOperations } from './events.js'
import { queueOperations } from './queue.js'
import { retentionOperations } from './retention.js'
import { runOperations } from './runs.js'
import { slotOperations } from './slots.js'

/** Every operation of the store, written once for both databases. */
export const OPERATIONS = {
  ...eventOperations,
  ...runOperations,
  ...attemptOperations,
  ...queueOperations,
  ...slotOperations,
  ...retentionOperations,
}

export type OperationName = keyof typeof OPERATIONS
export const OPERATION_NAMES = Object.keys(OPERATIONS) as OperationName[]

/** The store methods the catalogue makes: each operation, as a promise of its result. */
export type StoreOperations = {
  [K in OperationName]: (typeof OPERATIONS)[K] extends OperationSpec<infer Args, infer T>
    ? (...args: Args) => Promise<T>
    : never
}
