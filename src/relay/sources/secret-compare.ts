import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Whether a secret sent by a registry equals the configured one, in constant time. Both sides are
 * hashed first so that the comparison never depends on, nor reveals, the secret's length.
 */
export function sameSecret(given: string | null, expected: string): boolean {
  if (given === null || expected === '') return false
  return timingSafeEqual(sha256(given), sha256(expected))
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
