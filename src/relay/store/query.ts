/** Which database a store runs on. */
export type Dialect = 'sqlite' | 'postgres'

/**
 * A statement with `?` placeholders, written once for both databases (the PostgreSQL store numbers
 * them), or one text per dialect where the two differ.
 */
export type Statement = string | { readonly sqlite: string; readonly postgres: string }

/** One statement to run: `all` rows, the first row (`get`), or the count of rows changed (`run`). */
export interface Query {
  mode: 'all' | 'get' | 'run'
  statement: Statement
  params: readonly unknown[]
}

/**
 * A store operation is a generator of queries: each store runs it its own way (SQLite synchronously
 * on its thread, PostgreSQL with a round trip per query), so each operation is written once.
 */
export type Operation<T> = Generator<Query, T, unknown>

export function* all<Row>(statement: Statement, params: readonly unknown[] = []): Operation<Row[]> {
  return (yield { mode: 'all', statement, params }) as Row[]
}

export function* get<Row>(
  statement: Statement,
  params: readonly unknown[] = [],
): Operation<Row | undefined> {
  return (yield { mode: 'get', statement, params }) as Row | undefined
}

/** Returns how many rows the statement changed. */
export function* run(statement: Statement, params: readonly unknown[] = []): Operation<number> {
  return (yield { mode: 'run', statement, params }) as number
}

export function textFor(statement: Statement, dialect: Dialect): string {
  return typeof statement === 'string' ? statement : statement[dialect]
}

/** `?, ?, ?` for a list of `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ')
}

/**
 * `read`: no writes. `write`: one transaction. `statement`: writes that each stand alone, so
 * PostgreSQL runs them without BEGIN and COMMIT (SQLite still commits them with the writes of
 * their turn).
 */
export type OperationKind = 'read' | 'write' | 'statement'

export interface OperationSpec<Args extends unknown[], T> {
  kind: OperationKind
  steps: (dialect: Dialect, ...args: Args) => Operation<T>
}

export function operation<Args extends unknown[], T>(
  kind: OperationKind,
  steps: (dialect: Dialect, ...args: Args) => Operation<T>,
): OperationSpec<Args, T> {
  return { kind, steps }
}

/**
 * PostgreSQL text cannot hold U+0000, which SQLite keeps: a NUL in a body or a callback field would
 * fail the whole write. It is stored as U+FFFD, the character for "unrepresentable".
 */
export function storable(value: unknown): unknown {
  return typeof value === 'string' && value.includes('\0')
    ? value.replaceAll('\0', '\uFFFD')
    : value
}
