import type { Request } from 'express'
import { closestName } from '../config/closest-name.js'
import { parseDuration } from '../config/duration.js'
import { EVENT_OUTCOMES, type EventOutcome } from '../model/event.js'
import { RUN_STATES, type RunState } from '../model/run.js'
import type { EventFilter, RunFilter } from '../store/store.js'
import type { Problem } from './problem.js'
import { badQuery, oneOf, single, text } from './query.js'

/** The searches of the runs and of the events, as query parameters and as a search box's text. */

/** What `GET /api/runs` and `GET /` search by, as parameters and as `key:value` in `q`. */
export const RUN_SEARCH_KEYS = [
  'repository',
  'chain',
  'state',
  'tag',
  'digest',
  'pusher',
  'since',
  'until',
] as const
type RunSearchKey = (typeof RUN_SEARCH_KEYS)[number]

/** The query parameters of the runs list: the search, `q`, and paging. */
export const RUN_LIST_PARAMETERS = [...RUN_SEARCH_KEYS, 'q', 'cursor', 'limit'] as const

/** The query parameters of the events list (the API adds `reveal`). */
export const EVENT_LIST_PARAMETERS = [
  'source',
  'outcome',
  'repository',
  'tag',
  'since',
  'until',
  'cursor',
  'limit',
] as const

export interface RunSearch {
  filter: RunFilter
  /** The search as the search box shows it, state aside: `chain:release tag:v1.*`. */
  text: string
}

const DIGEST_PREFIX = /^(?:[a-z0-9]+(?:[+._-][a-z0-9]+)*:)?[a-f0-9]{1,128}$/i
const DATE = /^\d{4}-\d{2}-\d{2}$/
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/i
const TIME_RULE =
  'must be a date (2026-11-26), a date and time with its zone (2026-11-26T21:00:00Z), or how long ago (30m, 24h, 7d)'

/**
 * An instant as people give one: a date (its start; for `until`, the start of the next day, so
 * that the day is included), a date and time with its zone, or a duration back from `now`.
 */
function instant(
  name: 'since' | 'until',
  value: string,
  now: Date,
  refuse: (rule: string) => Problem = (rule) => badQuery(name, rule),
): string {
  let at = Number.NaN
  const ago = parseDuration(value)
  if (ago !== null) at = now.getTime() - ago
  else if (DATE.test(value)) {
    at = Date.parse(`${value}T00:00:00Z`) + (name === 'until' ? 86_400_000 : 0)
  } else if (DATE_TIME.test(value)) at = Date.parse(value)
  const date = new Date(at)
  // A date JavaScript cannot hold (a duration of a million years) is as wrong as a misspelt one.
  if (Number.isNaN(date.getTime())) throw refuse(TIME_RULE)
  return date.toISOString()
}

/** Checks one search value and puts it where the store takes it; `where` is the parameter it came in. */
function apply(filter: RunFilter, key: RunSearchKey, value: string, now: Date, where: string) {
  const rule = (text: string) => badQuery(where, where === key ? text : `has ${key}, which ${text}`)
  if (value.length > 300) throw rule('must be at most 300 characters')
  switch (key) {
    case 'state':
      if (!(RUN_STATES as readonly string[]).includes(value))
        throw rule(`must be one of ${RUN_STATES.join(', ')}`)
      filter.state = value as RunState
      return
    case 'digest':
      if (!DIGEST_PREFIX.test(value))
        throw rule('must be the start of a digest: sha256:4b4f…, or its hex alone')
      filter.digest = value
      return
    case 'since':
    case 'until':
      filter[key] = instant(key, value, now, rule)
      return
    default:
      filter[key] = value
  }
}

/**
 * The runs search of a request: its parameters, and the `key:value` terms and words of `q`, which
 * takes everything a person types into one search box. A key given twice is refused.
 */
export function runSearch(req: Request, now: Date): RunSearch {
  const filter: RunFilter = {}
  const shown = new Map<RunSearchKey, string>()
  for (const key of RUN_SEARCH_KEYS) {
    const value = single(req, key)
    if (value === undefined) continue
    apply(filter, key, value, now, key)
    shown.set(key, value)
  }
  const words: string[] = []
  for (const term of (text(req, 'q') ?? '').split(/\s+/).filter(Boolean)) {
    const keyed = /^([a-z_]+):(.*)$/i.exec(term)
    if (!keyed) {
      words.push(term)
      continue
    }
    const name = (keyed[1] ?? '').toLowerCase()
    const key = (name === 'repo' || name === 'image' ? 'repository' : name) as RunSearchKey
    if (!RUN_SEARCH_KEYS.includes(key)) {
      const close = closestName(name, RUN_SEARCH_KEYS)
      throw badQuery(
        'q',
        `names no search key in "${term.slice(0, 60)}"${close ? `; did you mean ${close}?` : ''} (keys: ${RUN_SEARCH_KEYS.join(', ')}; a word without a key is looked for everywhere)`,
      )
    }
    const value = keyed[2] ?? ''
    if (value === '') throw badQuery('q', `has "${key}:" without a value after it`)
    if (shown.has(key)) throw badQuery('q', `gives ${key} twice; give it once`)
    apply(filter, key, value, now, 'q')
    shown.set(key, value)
  }
  if (words.length) filter.words = words
  const terms = [...shown].filter(([key]) => key !== 'state').map(([k, v]) => `${k}:${v}`)
  return { filter, text: [...terms, ...words].join(' ') }
}

export interface EventSearch {
  filter: EventFilter
  /** The values as given, for the search form. */
  shown: { repository?: string; tag?: string; since?: string; until?: string }
}

/** The events search of a request. */
export function eventSearch(req: Request, sources: readonly string[], now: Date): EventSearch {
  const shown = {
    repository: text(req, 'repository'),
    tag: text(req, 'tag'),
    since: text(req, 'since'),
    until: text(req, 'until'),
  }
  const filter: EventFilter = {
    source: oneOf(req, 'source', sources),
    outcome: oneOf<EventOutcome>(req, 'outcome', EVENT_OUTCOMES),
    repository: shown.repository,
    tag: shown.tag,
    since: shown.since === undefined ? undefined : instant('since', shown.since, now),
    until: shown.until === undefined ? undefined : instant('until', shown.until, now),
  }
  return { filter, shown }
}
