import { createHash, randomBytes } from 'node:crypto'

/** The shape of a token in `/callbacks/<token>`: anything else is looked up no further. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{20,100}$/

/** A step's callback token (256 random bits) and the hash under which it is stored. */
export function newCallbackToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url')
  return { token, hash: hashToken(token) }
}

/** Tokens are kept only as their SHA-256: a copy of the database does not let anyone report a step. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

/** The hash to look a presented token up by; null when it cannot be a token at all. */
export function lookupHash(token: string): string | null {
  return TOKEN_SHAPE.test(token) ? hashToken(token) : null
}
