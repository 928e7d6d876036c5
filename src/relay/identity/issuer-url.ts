// An OpenID issuer is an https URL without query or fragment (OpenID Connect Discovery 1.0, §2).
// Plain http is taken only on the loopback interface, where a test or a local issuer runs: keys
// fetched over http from anywhere else could be swapped on the way.

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
const LOOPBACK_HOST = `(?:localhost|127(?:\\.${OCTET}){3}|\\[::1\\])`
// Labels of a DNS name, the last one starting with a letter (so that it is no IP address);
// punycode labels (xn--) are left out, since URL parsing refuses the invalid ones.
const LABEL = '(?!xn--)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
const HOST = `(?:${LABEL}\\.)*(?!xn--)[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?`
const PORT =
  '(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?'

/** The same rule as `issuerUrlProblem`, for the config schema. */
export const ISSUER_URL_PATTERN = `^(?:https://${HOST}|http://${LOOPBACK_HOST})${PORT}(?:/[^\\s?#]*)?$`

export const ISSUER_URL_MESSAGE =
  'must be an https URL without query or fragment, like https://accounts.google.com (http only for 127.0.0.1, [::1] or localhost)'

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname)
}

/** Why `value` cannot be an issuer URL (or a key set URL of one); null when it can. */
export function issuerUrlProblem(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return ISSUER_URL_MESSAGE
  }
  const secure = url.protocol === 'https:'
  const local = url.protocol === 'http:' && isLoopbackHost(url.hostname)
  if (!secure && !local) return ISSUER_URL_MESSAGE
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    return ISSUER_URL_MESSAGE
  }
  if (url.username !== '' || url.password !== '') return ISSUER_URL_MESSAGE
  return null
}
