import { placeholders } from './query.js'
import type { Condition } from './search.js'

/** A page of the history, newest first. */
export interface Page<T> {
  items: T[]
  /** The id to pass as `before` for the next (older) page, or null at the end. */
  nextCursor: string | null
}

/** `column = ?` for each value given. */
export function equalTo(values: Readonly<Record<string, string | undefined>>): Condition[] {
  return Object.entries(values).flatMap(([column, value]) =>
    value === undefined ? [] : [{ sql: `${column} = ?`, params: [value] }],
  )
}

/** `column < ?`: the page after the cursor `before`, when there is one. */
export function olderThan(column: string, before: string | null): Condition[] {
  return before ? [{ sql: `${column} < ?`, params: [before] }] : []
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
