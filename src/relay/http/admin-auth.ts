import { createHash, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, Response } from 'express'
import { problem } from './problem.js'

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/** The token a request offers: `Authorization: Bearer <token>`, or HTTP basic auth with the token as password. */
export function offeredToken(header: string | undefined): string | null {
  if (!header) return null
  const [scheme, value] = header.split(' ', 2)
  if (!value) return null
  if (scheme?.toLowerCase() === 'bearer') return value.trim()
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value.trim(), 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon >= 0 ? decoded.slice(colon + 1) : null
  }
  return null
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address
  return v4.startsWith('127.') || address === '::1'
}

/**
 * Whether the request is the admin's: it offers the admin token, or, with none configured, it
 * comes from this machine and through no proxy.
 */
export function isAdminRequest(req: Request, adminToken: string | null): boolean {
  if (adminToken === null) {
    const forwarded =
      req.headers.forwarded !== undefined || req.headers['x-forwarded-for'] !== undefined
    return isLoopback(req.socket.remoteAddress) && !forwarded
  }
  const offered = offeredToken(req.headers.authorization)
  return offered !== null && sameSecret(offered, adminToken)
}

/**
 * Guards `/api` and the pages. With an admin token, a request must offer it; without one, only
 * requests from this machine are answered.
 */
export function requireAdmin(adminToken: string | null, options: { browser?: boolean } = {}) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (adminToken === null) {
      // Behind a reverse proxy on this machine every request comes from loopback: a forwarded
      // request is someone else's, whatever the socket says.
      const forwarded =
        req.headers.forwarded !== undefined || req.headers['x-forwarded-for'] !== undefined
      if (isLoopback(req.socket.remoteAddress) && !forwarded) return next()
      throw problem(
        'admin-loopback-only',
        'No admin_token is configured, so the history is served only to requests from this machine. Set admin_token in the relay config to open it to others.',
      )
    }
    const offered = offeredToken(req.headers.authorization)
    if (offered !== null && sameSecret(offered, adminToken)) return next()
    throw problem(
      'admin-token-required',
      offered === null
        ? 'Send the admin token as "Authorization: Bearer <token>" (or as the password of HTTP basic auth).'
        : 'The admin token does not match admin_token in the relay config.',
      {
        headers: {
          'WWW-Authenticate': options.browser
            ? 'Basic realm="hookchain", charset="UTF-8"'
            : 'Bearer realm="hookchain"',
        },
      },
    )
  }
}

/**
 * Who an admin request is, for the history: the user name of HTTP basic auth (a browser asks for
 * one with the token as password), else `admin`.
 */
export function adminName(req: Request): string {
  const header = req.headers.authorization ?? ''
  const [scheme, value] = header.split(' ', 2)
  if (scheme?.toLowerCase() === 'basic' && value) {
    const decoded = Buffer.from(value.trim(), 'base64').toString('utf8')
    const name = decoded.slice(0, Math.max(0, decoded.indexOf(':'))).trim()
    if (/^[\p{L}\p{N} ._@-]{1,64}$/u.test(name)) return name
  }
  return req.socket.remoteAddress && !header ? 'admin (this machine)' : 'admin'
}
