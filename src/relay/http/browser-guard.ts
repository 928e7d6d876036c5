import type { NextFunction, Request, Response } from 'express'
import { problem } from './problem.js'

/**
 * Browsers send basic-auth credentials on their own, so a form on another site could make a
 * signed-in admin's browser post here. Only same-origin posts are taken.
 */
export function sameOrigin(req: Request, _res: Response, next: NextFunction): void {
  const site = req.headers['sec-fetch-site']
  const origin = req.headers.origin
  const host = req.headers.host
  const fromHere =
    site !== undefined
      ? site === 'same-origin' || site === 'none'
      : origin === undefined || hostOf(origin) === host
  if (!fromHere) {
    throw problem(
      'cross-site-request',
      "This action is taken only from the relay's own pages; open the run page and press the button there.",
    )
  }
  next()
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host
  } catch {
    return null
  }
}

/** Where people see a repository: github.com for the public API, the server itself for GitHub Enterprise Server. */
export function githubWebUrl(apiUrl: string): string {
  const url = new URL(apiUrl)
  if (url.hostname === 'api.github.com') return 'https://github.com'
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '').replace(/\/+$/, '')}`
}
