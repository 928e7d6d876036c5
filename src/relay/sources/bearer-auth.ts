import type { IncomingHttpHeaders } from 'node:http'
import { bearerToken, singleHeader } from './headers.js'
import { sameSecret } from './secret-compare.js'
import { SourceAuthError } from './types.js'

/**
 * Authentication by `Authorization: Bearer <token>`, from the headers alone. `missing` and `wrong`
 * say where the sender sets the header, for a request without it and for one with another value.
 */
export function requireBearer(
  headers: IncomingHttpHeaders,
  token: string,
  { missing, wrong }: { missing: string; wrong: string },
): 'authenticated' {
  const authorization = singleHeader(headers, 'authorization')
  if (authorization === null) throw new SourceAuthError(missing)
  if (!sameSecret(bearerToken(authorization), token)) throw new SourceAuthError(wrong)
  return 'authenticated'
}
