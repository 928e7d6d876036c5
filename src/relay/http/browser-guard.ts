import { isIP } from 'node:net'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { isLoopback } from './admin-auth.js'
import { mediaType } from './body.js'
import { problem } from './problem.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Refuses a state-changing request that a browser made on behalf of another site. Browsers send
 * cached basic-auth credentials (and a loopback address) along with a form another site submits,
 * so valid credentials prove nothing about intent; what the browser says of the request's origin
 * does. A client that is not a browser sends neither header and is let through.
 * `json`: the route takes JSON, so the types an HTML form can send are refused too.
 */
export function refuseCrossSite(publicUrl: string, { json }: { json: boolean }): RequestHandler {
  const own = new URL(publicUrl).origin
  return (req: Request, _res: Response, next: NextFunction) => {
    if (SAFE_METHODS.has(req.method)) return next()
    const site = req.headers['sec-fetch-site']
    const origin = req.headers.origin
    const fromHere =
      site !== undefined
        ? site === 'same-origin' || site === 'none'
        : origin === undefined || origin === own || origin === requestOrigin(req)
    if (!fromHere) {
      throw problem(
        'cross-site-request',
        json
          ? "This request came from a page of another site; send it from a script or tool, or from the relay's own pages."
          : "This action is taken only from the relay's own pages; open the run page and press the button there.",
      )
    }
    const type = mediaType(req)
    if (json && type !== null && type !== 'application/json') {
      throw problem(
        'unsupported-media-type',
        `Content-Type ${type} is not accepted here (an HTML form can send it from any site); send application/json, or no body.`,
        { extensions: { accepted: ['application/json'] } },
      )
    }
    next()
  }
}

/** The origin the request was addressed to, as its Host header and the connection say. */
function requestOrigin(req: Request): string | null {
  const host = req.headers.host
  return host ? `${req.protocol}://${host}` : null
}

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost', 'ip6-loopback'])

/** `example.com` of `example.com:8080`, `::1` of `[::1]:8080`; lower-cased. */
function hostName(host: string): string {
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host)
  if (bracketed) return (bracketed[1] ?? '').toLowerCase()
  return host.replace(/:\d*$/, '').toLowerCase()
}

/**
 * Without an admin token the relay trusts loopback requests, and a page on another name that
 * resolves to 127.0.0.1 (DNS rebinding) would be one: then only a Host that names this machine, or
 * `public_url`'s host, is answered. With a token, the token is what counts.
 */
export function refuseForeignHost(adminToken: string | null, publicUrl: string): RequestHandler {
  const publicHost = new URL(publicUrl).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return (req: Request, _res: Response, next: NextFunction) => {
    if (adminToken !== null) return next()
    const name = hostName(req.headers.host ?? '')
    const ours =
      name === publicHost ||
      LOOPBACK_NAMES.has(name) ||
      name.endsWith('.localhost') ||
      (isIP(name) !== 0 && isLoopback(name))
    if (!ours) {
      throw problem(
        'untrusted-host',
        `This relay has no admin_token, so it answers its API and pages only at this machine's own names (localhost, 127.0.0.1, [::1]) or at public_url's host, not at "${name.slice(0, 100)}". Open it at one of those, or set admin_token.`,
      )
    }
    next()
  }
}

/** Where people see a repository: github.com for the public API, the server itself for GitHub Enterprise Server. */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl)
  if (url.hostname === 'api.github.com') return 'https://github.com'
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`
}
