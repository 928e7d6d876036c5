import { type Html, html } from './html.js'

/** The URL when it is an absolute http(s) URL, else null: `javascript:`, `data:` and the like never become links. */
export function webHref(url: string | null | undefined): string | null {
  if (!url) return null
  try {
    const parsed = new URL(url)
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null
  } catch {
    return null
  }
}

/** A link that leaves the relay, or the URL as plain text when it is not a web URL. */
export function externalLink(url: string | null | undefined, label?: string | Html): Html | null {
  if (!url) return null
  const href = webHref(url)
  if (!href)
    return html`<span class="unlinked" title="Not an http(s) URL, so not a link">${url}</span>`
  return html`<a class="external" href="${href}" rel="noopener noreferrer">${label ?? url}</a>`
}

/** The host of a URL, for URLs whose path may carry a secret (registry callback URLs). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'an unreadable URL'
  }
}

/** The Actions tab of a `owner/repo` on GitHub (or GitHub Enterprise Server). */
export function actionsHref(githubUrl: string, repository: string): string {
  const path = repository.split('/').map(encodeURIComponent).join('/')
  return `${githubUrl.replace(/\/+$/, '')}/${path}/actions`
}

/** A path with the given query parameters, leaving out empty ones. */
export function withQuery(path: string, params: Record<string, string | null | undefined>): string {
  const query = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) {
    if (value) query.set(name, value)
  }
  const text = query.toString()
  return text ? `${path}?${text}` : path
}
