import type { Dialect } from './query.js'
import type { EventFilter, RunFilter } from './store.js'

/** A part of a WHERE clause with its parameters, in order. */
export interface Condition {
  sql: string
  params: unknown[]
}

/** `*` and `?` make a value a glob; without them it is looked for as a part of the text. */
export function isGlob(value: string): boolean {
  return /[*?]/.test(value)
}

/** `%`, `_` and `\` stand for themselves in a LIKE pattern (written with `ESCAPE '\'`). */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

/**
 * The LIKE pattern (to compare with lower-cased text) of what a person typed: a glob matches the
 * whole text, `*` any run of characters (`/` included), `?` one; anything else is a part of it,
 * or with `whole`, all of it.
 */
export function likePattern(value: string, { whole = false } = {}): string {
  const lower = value.toLowerCase()
  if (isGlob(lower)) {
    return [...lower].map((c) => (c === '*' ? '%' : c === '?' ? '_' : escapeLike(c))).join('')
  }
  return whole ? escapeLike(lower) : `%${escapeLike(lower)}%`
}

/** A digest by its start: `sha256:4b4f`, or the hex alone (`4b4f`). */
export function digestPattern(value: string): string {
  const lower = escapeLike(value.toLowerCase())
  return lower.includes(':') ? `${lower}%` : `%:${lower}%`
}

/** `expr LIKE ?` for each lower-case expression, joined by OR, with the same pattern. */
function anyLike(expressions: readonly string[], pattern: string): Condition {
  const sql = expressions.map((e) => `${e} LIKE ? ESCAPE '\\'`).join(' OR ')
  return { sql: `(${sql})`, params: expressions.map(() => pattern) }
}

/** Each part of an image, lower-cased, in a run row or in one push of an event. */
interface ImageColumns {
  registry: string
  repository: string
  tag: string
  digest: string
  pusher: string
  /** `registry/repository:tag`, or `@digest` without a tag. */
  reference: string
}

/**
 * A run's image and pusher, read from its JSON columns but for the reference: a column of its own,
 * lower-cased when written, that PostgreSQL keeps statistics of to plan a search by image.
 */
function runColumns(dialect: Dialect): ImageColumns & { chain: string } {
  const field = (column: string, name: string) =>
    dialect === 'postgres'
      ? `lower(runs.${column}::json ->> '${name}')`
      : `lower(json_extract(runs.${column}, '$.${name}'))`
  return {
    registry: field('image', 'registry'),
    repository: 'lower(runs.repository)',
    tag: field('image', 'tag'),
    digest: field('image', 'digest'),
    pusher: field('push', 'pusher'),
    reference: 'runs.reference_lower',
    chain: 'lower(runs.chain)',
  }
}

/** One push of an event's `pushes`, as `p` in the EXISTS that looks through them. */
function pushColumns(dialect: Dialect): ImageColumns {
  const field = (name: string) =>
    dialect === 'postgres'
      ? `lower(p.value ->> '${name}')`
      : `lower(json_extract(p.value, '$.${name}'))`
  const registry = field('registry')
  const repository = field('repository')
  const tag = field('tag')
  const digest = field('digest')
  return {
    registry,
    repository,
    tag,
    digest,
    pusher: field('pusher'),
    reference: `${registry} || '/' || ${repository} || coalesce(':' || ${tag}, '@' || ${digest}, '')`,
  }
}

/** An image by `acme/app`, `acme/*`, `docker.io/acme/app` or the whole reference with its tag. */
function imageMatch(c: ImageColumns, value: string): Condition {
  const pattern = likePattern(value)
  return isGlob(value)
    ? anyLike([c.repository, `${c.registry} || '/' || ${c.repository}`, c.reference], pattern)
    : anyLike([c.reference], pattern)
}

function tagMatch(c: ImageColumns, value: string): Condition {
  return anyLike([c.tag], likePattern(value, { whole: true }))
}

function digestMatch(c: ImageColumns, value: string): Condition {
  return anyLike([c.digest], digestPattern(value))
}

function and(conditions: readonly Condition[]): Condition {
  return {
    sql: conditions.map((c) => c.sql).join(' AND '),
    params: conditions.flatMap((c) => c.params),
  }
}

/** The conditions of a run search, besides state (a plain column). */
export function runConditions(dialect: Dialect, filter: RunFilter): Condition[] {
  const c = runColumns(dialect)
  const out: Condition[] = []
  if (filter.repository) out.push(imageMatch(c, filter.repository))
  if (filter.chain) out.push(anyLike([c.chain], likePattern(filter.chain)))
  if (filter.tag) out.push(tagMatch(c, filter.tag))
  if (filter.digest) out.push(digestMatch(c, filter.digest))
  if (filter.pusher) out.push(anyLike([c.pusher], likePattern(filter.pusher)))
  if (filter.since) out.push({ sql: 'runs.created_at >= ?', params: [filter.since] })
  if (filter.until) out.push({ sql: 'runs.created_at < ?', params: [filter.until] })
  for (const word of filter.words ?? []) {
    const pattern = likePattern(word)
    out.push(
      anyLike(
        [
          c.repository,
          `${c.registry} || '/' || ${c.repository}`,
          c.reference,
          c.chain,
          c.pusher,
          c.digest,
        ],
        pattern,
      ),
    )
  }
  return out
}

/** The conditions of an event search, besides source and outcome (plain columns). */
export function eventConditions(dialect: Dialect, filter: EventFilter): Condition[] {
  const out: Condition[] = []
  const c = pushColumns(dialect)
  const image: Condition[] = []
  if (filter.repository) image.push(imageMatch(c, filter.repository))
  if (filter.tag) image.push(tagMatch(c, filter.tag))
  if (image.length) {
    // Repository and tag must hold of the same push.
    const pushes =
      dialect === 'postgres'
        ? 'json_array_elements(events.pushes::json) AS p(value)'
        : 'json_each(events.pushes) AS p'
    const inner = and(image)
    out.push({ sql: `EXISTS (SELECT 1 FROM ${pushes} WHERE ${inner.sql})`, params: inner.params })
  }
  if (filter.since) out.push({ sql: 'events.received_at >= ?', params: [filter.since] })
  if (filter.until) out.push({ sql: 'events.received_at < ?', params: [filter.until] })
  return out
}

/** `WHERE a AND b …` of conditions, or nothing. */
export function whereOf(conditions: readonly Condition[]): Condition {
  if (conditions.length === 0) return { sql: '', params: [] }
  const all = and(conditions)
  return { sql: `WHERE ${all.sql}`, params: all.params }
}
