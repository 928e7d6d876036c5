import { placeholders } from './query.js'

/** A page of the history, newest first. */
export interface Page<T> {
  items: T[]
  /** The id to pass as `before` for the next (older) page, or null at the end. */
  nextCursor: string | null
}

/** `WHERE column = ? AND … AND id < ?` for the filters given, with its parameters in order. */
export function whereClause(
  filter: Readonly<Record<string, string | undefined>>,
  before: string | null,
): { where: string; params: unknown[] } {
  const clauses: string[] = []
  const params: unknown[] = []
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue
    clauses.push(`${column} = ?`)
    params.push(value)
  }
  if (before) {
    clauses.push('id < ?')
    params.push(before)
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params }
}

/** `id IN (?, ?)` for a list of ids (never empty: callers check). */
export function inList(column: string, count: number): string {
  return `${column} IN (${placeholders(count)})`
}

/** The first `limit` of `items` (one more was read, to know whether a next page exists). */
export function page<T extends { id: string }>(items: T[], limit: number): Page<T> {
  const shown = items.slice(0, limit)
  return { items: shown, nextCursor: items.length > limit ? (shown.at(-1)?.id ?? null) : null }
}
