const REDACTED = '[redacted]'

/**
 * A URL fit for the history: no user or password, query values hidden, and path segments that
 * look like tokens (long, letters mixed with digits, as in Docker Hub's callback URLs) hidden.
 * Unparseable input is hidden whole.
 */
export function redactUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return REDACTED
  }
  parsed.username = ''
  parsed.password = ''
  parsed.pathname = parsed.pathname
    .split('/')
    .map((segment) => (looksLikeToken(segment) ? REDACTED : segment))
    .join('/')
  const keys = [...new Set(parsed.searchParams.keys())]
  parsed.search = ''
  parsed.hash = ''
  const query = keys.map((key) => `${encodeURIComponent(key)}=${REDACTED}`).join('&')
  return query ? `${parsed.toString()}?${query}` : parsed.toString()
}

/** A relay callback URL without its token (the last path segment), which lets anyone report the step. */
export function redactCallbackUrl(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return REDACTED
  }
  const segments = parsed.pathname.split('/')
  const last = segments.findLastIndex((segment) => segment !== '')
  if (last >= 0) segments[last] = REDACTED
  parsed.pathname = segments.join('/')
  parsed.username = ''
  parsed.password = ''
  parsed.search = ''
  return parsed.toString()
}

/** Copies a JSON value with every `callback_url` in it redacted. */
export function redactCallbackUrls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactCallbackUrls)
  if (typeof value !== 'object' || value === null) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === 'callback_url' && typeof item === 'string'
        ? redactCallbackUrl(item)
        : redactCallbackUrls(item),
    ]),
  )
}

function looksLikeToken(segment: string): boolean {
  return (
    segment.length >= 20 && /[0-9]/.test(segment) && /[a-z]/i.test(segment) && !/[.]/.test(segment)
  )
}

/** Secrets shorter than this are not looked for in texts: they would match ordinary words. */
const SCRUBBED_MIN_LENGTH = 8

/**
 * A text fit for logs and the history: every secret in `secrets` and every callback token (in a
 * `/callbacks/<token>` path) replaced by `[redacted]`. For what a remote party may echo back,
 * such as a webhook receiver's error answer that quotes the request it was sent.
 */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let scrubbed = text.replace(/(\/callbacks\/)[A-Za-z0-9_-]{20,}/g, `$1${REDACTED}`)
  for (const secret of secrets) {
    if (secret.length >= SCRUBBED_MIN_LENGTH) scrubbed = scrubbed.replaceAll(secret, REDACTED)
  }
  return scrubbed
}
