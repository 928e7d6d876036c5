import type { IncomingHttpHeaders } from 'node:http'

/** The value of a header sent once; null when it is absent or sent more than once. */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | null {
  const value = headers[name.toLowerCase()]
  if (Array.isArray(value)) return value.length === 1 ? (value[0] ?? null) : null
  return value ?? null
}

/** The token of `Authorization: Bearer <token>` (scheme in any case); null for any other form. */
export function bearerToken(authorization: string | null): string | null {
  const match = /^bearer +(\S(?:.*\S)?) *$/i.exec(authorization ?? '')
  return match?.[1] ?? null
}
