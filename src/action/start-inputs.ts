import { parseCallbackUrl } from './callback-url.js'

// The inputs of start mode (`chain` set), each read from its raw value. Errors name the input
// and what it takes; settings.ts gathers them.

/** The relay's CHAIN_NAME_PATTERN (src/relay/config/schema.ts; a test keeps them equal). */
export const CHAIN_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
/** Five days, the longest a job may run on a self-hosted runner. */
export const MAX_WAIT_MINUTES = 7200
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** The relay's base URL; a warning when the OIDC token would travel unencrypted. */
export function readRelayUrl(raw: string): { url: URL; warning: string | null } {
  if (raw === '') {
    throw new Error(
      'Input "relay-url" is required with chain: the base URL of the hookchain relay, e.g. https://relay.example.com.',
    )
  }
  const url = parseCallbackUrl(raw, 'Input "relay-url"')
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new Error(
      `Input "relay-url" must be the relay's base URL, without user info, query or fragment, e.g. https://relay.example.com (got "${raw}").`,
    )
  }
  const warning =
    url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)
      ? `Input "relay-url" is plain http: the job's OIDC token and the run token cross the network unencrypted. Use https.`
      : null
  return { url, warning }
}

export function readChain(raw: string): string {
  if (!new RegExp(CHAIN_NAME_PATTERN).test(raw)) {
    throw new Error(
      `Input "chain" must be a chain name of the relay's config: up to 100 letters, digits, ".", "_" or "-", starting with a letter or digit (got "${raw}").`,
    )
  }
  return raw
}

/**
 * The image reference, as the relay will check it; a warning when it names no digest, since a
 * tag may point to a later push by the time a step pulls it.
 */
export function readImage(raw: string): { image: string; warning: string | null } {
  const image = raw.trim()
  if (image === '') {
    throw new Error(
      'Input "image" is required with chain: the reference of the image the chain runs for, e.g. ghcr.io/acme/app@sha256:….',
    )
  }
  if (/\s/.test(image)) {
    throw new Error(`Input "image" must be one image reference, without spaces (got "${raw}").`)
  }
  const at = image.lastIndexOf('@')
  if (at === -1) {
    return {
      image,
      warning:
        `Input "image" has no digest (${image}): the chain's steps get whatever the tag points to when they pull it, ` +
        'which may be a later push. Prefer a digest reference, e.g. ghcr.io/acme/app@<the digest output of docker/build-push-action>.',
    }
  }
  if (!DIGEST.test(image.slice(at + 1))) {
    throw new Error(
      `Input "image" must end with a digest after "@", e.g. ghcr.io/acme/app@sha256:… (got "${raw}"). Is the build step's digest output empty?`,
    )
  }
  return { image, warning: null }
}

/** true or false, as YAML 1.2 and @actions/core's getBooleanInput spell them. */
export function readWait(raw: string): boolean {
  if (raw === '' || ['false', 'False', 'FALSE'].includes(raw)) return false
  if (['true', 'True', 'TRUE'].includes(raw)) return true
  throw new Error(`Input "wait" must be true or false (got "${raw}").`)
}

export function readWaitMs(raw: string, fallback: string): number {
  const minutes = Number(raw || fallback)
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_WAIT_MINUTES) {
    throw new Error(
      `Input "wait-minutes" must be a number of minutes above 0 and at most ${MAX_WAIT_MINUTES} (got "${raw}").`,
    )
  }
  return Math.max(1, Math.round(minutes * 60_000))
}

export function readAudience(raw: string, fallback: string): string {
  const audience = raw.trim() || fallback
  if (/\s/.test(audience)) {
    throw new Error(
      `Input "audience" must be one word, the relay's github.oidc.audience (got "${raw}").`,
    )
  }
  return audience
}

/** The repository and commit of this workflow run, which the relay checks and records. */
export function readSource(env: NodeJS.ProcessEnv): { repository: string; sha: string } {
  const { GITHUB_REPOSITORY: repository, GITHUB_SHA: sha } = env
  if (!repository || !sha) {
    throw new Error(
      'GITHUB_REPOSITORY and GITHUB_SHA are not set: start mode runs in a GitHub Actions job, which sends the relay the repository and commit of its run.',
    )
  }
  return { repository, sha }
}

/** Where the runner hands out the job's OIDC token, and the token to ask with. */
export function readIdTokenRequest(env: NodeJS.ProcessEnv): { url: string; token: string } {
  const { ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: token } = env
  if (!url || !token) {
    throw new Error(
      'This job cannot get an OIDC token, which the relay needs to know who starts the chain: give the job `permissions: id-token: write` (a pull request from a fork never gets one).',
    )
  }
  return { url, token }
}
