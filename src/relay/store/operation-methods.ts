import { OPERATION_NAMES, type OperationName, type StoreOperations } from './operations/index.js'

/** One store method per operation of the catalogue, each handing its name and arguments to `perform`. */
export function operationMethods(
  perform: (name: OperationName, args: unknown[]) => Promise<unknown>,
): StoreOperations {
  return Object.fromEntries(
    OPERATION_NAMES.map((name) => [name, (...args: unknown[]) => perform(name, args)]),
  ) as StoreOperations
}
