import { type Html, html } from './html.js'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** `2026-11-26 21:32:00 UTC`: the server cannot know the reader's time zone without JavaScript. */
export function formatInstant(iso: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return iso
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** `just now`, `42 s ago`, `3 min ago`, `5 h ago`, `2 days ago`, then the date. */
export function formatAge(iso: string, now: Date): string {
  const ms = now.getTime() - new Date(iso).getTime()
  if (Number.isNaN(ms)) return iso
  if (ms < -5 * SECOND) return `in ${formatElapsed(-ms)}`
  if (ms < 5 * SECOND) return 'just now'
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s ago`
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} min ago`
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ago`
  const days = Math.floor(ms / DAY)
  if (days < 30) return days === 1 ? 'yesterday' : `${days} days ago`
  return `on ${iso.slice(0, 10)}`
}

/** `850 ms`, `1.2 s`, `12 s`, `3 min 5 s`, `2 h 4 min`, `3 d 2 h`. */
export function formatElapsed(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  if (ms < SECOND) return `${Math.round(ms)} ms`
  if (ms < 10 * SECOND) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s`
  if (ms < HOUR) return pair(ms, MINUTE, 'min', SECOND, 's')
  if (ms < DAY) return pair(ms, HOUR, 'h', MINUTE, 'min')
  return pair(ms, DAY, 'd', HOUR, 'h')
}

function pair(ms: number, big: number, bigUnit: string, small: number, smallUnit: string): string {
  const whole = Math.floor(ms / big)
  const rest = Math.floor((ms % big) / small)
  return rest ? `${whole} ${bigUnit} ${rest} ${smallUnit}` : `${whole} ${bigUnit}`
}

/** How long from `start` to `end`, or to now while it goes on. */
export function span(start: string | null, end: string | null, now: Date): string | null {
  if (!start) return null
  const until = end ? new Date(end).getTime() : now.getTime()
  return formatElapsed(until - new Date(start).getTime())
}

// Every time is machine-readable in `datetime`; `data-format` tells the pages' script how to show
// it in the reader's time zone (the server knows only UTC), with UTC in its title.

/** An age with the exact time as its title. */
export function ageTag(iso: string, now: Date): Html {
  return html`<time datetime="${iso}" data-format="age" title="${formatInstant(iso)}">${formatAge(iso, now)}</time>`
}

/** The exact time, with the age as its title. */
export function instantTag(iso: string, now: Date): Html {
  return html`<time datetime="${iso}" data-format="instant" title="${formatAge(iso, now)}">${formatInstant(iso)}</time>`
}

/**
 * The time of day, with the date only when it is not the day of `since` (an ISO 8601 instant,
 * the run's start): for logs within a run.
 */
export function clockTag(iso: string, now: Date, since: string): Html {
  const instant = formatInstant(iso)
  const shown =
    iso.slice(0, 10) === since.slice(0, 10) ? instant.slice(11, 19) : instant.slice(0, 19)
  return html`<time datetime="${iso}" data-format="clock" data-since="${since}" title="${instant}, ${formatAge(iso, now)}">${shown}</time>`
}
