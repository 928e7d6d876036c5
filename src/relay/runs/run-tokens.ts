import { randomBytes } from 'node:crypto'
import { hashToken } from './callback-tokens.js'

/** Run tokens start so, which tells them from the admin token and from OIDC tokens at a glance. */
export const RUN_TOKEN_PREFIX = 'hcrun_'
const RUN_TOKEN_SHAPE = /^hcrun_[A-Za-z0-9_-]{43}$/

/**
 * A token that reads one run (256 random bits), handed to whoever started it, and the hash under
 * which it is stored: a copy of the database reads no run with it.
 */
export function newRunToken(): { token: string; hash: string } {
  const token = `${RUN_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`
  return { token, hash: hashToken(token) }
}

/** The hash to look a presented run token up by; null when it cannot be one. */
export function runTokenHash(token: string): string | null {
  return RUN_TOKEN_SHAPE.test(token) ? hashToken(token) : null
}
