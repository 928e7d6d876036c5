import type { Request } from 'express'
import { closestName } from '../config/closest-name.js'
import { ID_PATTERN } from '../ids.js'
import { type Problem, problem } from './problem.js'

/** Query parameters of the API and the pages, each read and checked the same way everywhere. */

/**
 * Refuses a query parameter the route does not take, naming each one: a misspelt filter would
 * otherwise be ignored, and the answer would look filtered when it is not.
 */
export function onlyParameters(req: Request, taken: readonly string[]): void {
  const unknown = Object.keys(req.query).filter((name) => !taken.includes(name))
  if (unknown.length === 0) return
  const errors = unknown.map((name) => {
    const close = closestName(name, taken)
    return {
      parameter: name,
      detail: `is not a parameter of this route${close ? `; did you mean ${close}?` : ''}`,
    }
  })
  const named = errors.map((e) => `"${e.parameter.slice(0, 50)}" ${e.detail}`).join('; ')
  throw problem('invalid-query', `Query parameter ${named}. It takes ${taken.join(', ')}.`, {
    extensions: { errors },
  })
}

export function single(req: Request, name: string): string | undefined {
  const value = req.query[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string') throw badQuery(name, 'must be given once, as a plain value')
  // PostgreSQL text cannot hold U+0000: refused here rather than failing the query.
  if (value.includes('\0')) throw badQuery(name, 'must not contain a NUL character (%00)')
  return value
}

export function text(req: Request, name: string): string | undefined {
  const value = single(req, name)
  if (value !== undefined && value.length > 300)
    throw badQuery(name, 'must be at most 300 characters')
  return value
}

export function oneOf<T extends string>(
  req: Request,
  name: string,
  allowed: readonly T[],
): T | undefined {
  const value = single(req, name)
  if (value === undefined) return undefined
  if (!(allowed as readonly string[]).includes(value))
    throw badQuery(name, `must be one of ${allowed.join(', ')}`)
  return value as T
}

export function cursor(req: Request): string | null {
  const value = single(req, 'cursor')
  if (value === undefined) return null
  if (!ID_PATTERN.test(value))
    throw badQuery('cursor', 'must be a next_cursor value from an earlier page')
  return value
}

export function limit(req: Request): number {
  const value = single(req, 'limit')
  if (value === undefined) return 20
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw badQuery('limit', 'must be a whole number from 1 to 100')
  return n
}

/** The longest a long poll is held. */
export const MAX_WAIT_SECONDS = 60

/** `?wait=<seconds>` of a long poll, 1 to 60; null without it. */
export function waitSeconds(req: Request): number | null {
  const value = single(req, 'wait')
  if (value === undefined) return null
  const n = Number(value)
  if (!/^[0-9]{1,2}$/.test(value) || n < 1 || n > MAX_WAIT_SECONDS)
    throw badQuery('wait', `must be a whole number of seconds from 1 to ${MAX_WAIT_SECONDS}`)
  return n
}

export function badQuery(name: string, rule: string): Problem {
  return problem('invalid-query', `Query parameter "${name}" ${rule}.`, {
    extensions: { errors: [{ parameter: name, detail: rule }] },
  })
}

/** `?reveal=callback_url`: show a registry's callback URL as it came, token and all. */
export function revealed(req: Request): boolean {
  return oneOf(req, 'reveal', ['callback_url']) === 'callback_url'
}
