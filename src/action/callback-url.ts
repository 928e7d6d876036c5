/** Thrown when a callback URL cannot be used; the message never repeats the URL, which holds a secret. */
export class CallbackUrlError extends Error {
  override name = 'CallbackUrlError'
}

/** What started the workflow run, as far as finding a callback URL is concerned. */
export interface RunEvent {
  /** `GITHUB_EVENT_NAME`, e.g. `repository_dispatch`, `push`. */
  name: string | null
  /** The parsed JSON of `GITHUB_EVENT_PATH`, when there is one. */
  payload: unknown
}

/** `client_payload.callback_url` of a repository_dispatch event, when it has one. */
export function callbackUrlOfEvent(event: RunEvent): string | null {
  const clientPayload = field(event.payload, 'client_payload')
  const url = field(clientPayload, 'callback_url')
  return typeof url === 'string' && url.trim() !== '' ? url.trim() : null
}

/** One line that tells the user how to give the Action a callback URL. */
export function missingCallbackUrl(event: RunEvent): string {
  if (event.name === 'repository_dispatch') {
    return (
      'No callback URL: the repository_dispatch event that started this run has no ' +
      'client_payload.callback_url, so it was not sent by hookchain. Set the callback-url input.'
    )
  }
  const startedBy = event.name ? ` (it was started by ${event.name})` : ''
  return (
    `No callback URL: this run was not started by a hookchain repository_dispatch${startedBy}. ` +
    'Set the callback-url input, or trigger the workflow with on: repository_dispatch.'
  )
}

/** Parses an absolute http(s) URL; `origin` says where it came from, for the error message. */
export function parseCallbackUrl(raw: string, origin: string): URL {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new CallbackUrlError(`${origin} is not a URL: expected an absolute http(s) URL`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CallbackUrlError(
      `${origin} must be an http(s) URL, not ${url.protocol.replace(/:$/, '')}`,
    )
  }
  return url
}

/**
 * The parts of a callback URL that grant access: the token after `/callbacks/` of a hookchain
 * relay; for any other URL its whole path and query, since the secret could be anywhere there.
 * A password in the URL is always secret.
 */
export function secretsOfCallbackUrl(url: URL): string[] {
  const secrets: string[] = []
  const token = /\/callbacks\/([^/?#]+)/.exec(url.pathname)?.[1]
  if (token) {
    secrets.push(token)
    if (url.search.length > 1) secrets.push(url.search.slice(1))
  } else {
    const pathAndQuery = `${url.pathname}${url.search}`
    if (pathAndQuery !== '/') secrets.push(pathAndQuery.replace(/^\//, ''))
  }
  if (url.password) secrets.push(url.password)
  return secrets.filter((secret) => secret.length >= 4)
}

/** The URL as it may appear in a log: every secret replaced by `***`. */
export function redactCallbackUrl(url: URL): string {
  let text = url.href
  for (const secret of secretsOfCallbackUrl(url)) text = text.split(secret).join('***')
  return text
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined
}
