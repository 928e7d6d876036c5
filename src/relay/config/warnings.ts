import { isExclusion, namesSignatureTags, tagGlob } from '../model/tag-patterns.js'
import type { Chain, Settings } from './settings.js'

/** Host names of this machine, as URL.hostname spells them. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    hostname.endsWith('.localhost') ||
    hostname === '[::1]' ||
    /^127(\.\d{1,3}){3}$/.test(hostname)
  )
}

/** Things a config may do but that deserve a line in the log at start-up. */
export function settingsWarnings(settings: Settings): string[] {
  const warnings: string[] = []
  if (settings.adminToken === null) {
    warnings.push('admin_token is not set: /api and the pages answer only loopback requests')
  }
  const dispatching = settings.chains
    .filter((chain) => chain.steps.some((step) => step.kind === 'dispatch'))
    .map((chain) => chain.name)
  if (settings.github.auth === null && dispatching.length > 0) {
    warnings.push(
      `github has neither token nor app: the dispatch steps of ${dispatching.join(', ')} will end as error until credentials are configured`,
    )
  }
  const reporting = settings.chains.filter((chain) => chain.reportToCommit).map((c) => c.name)
  if (settings.github.auth === null && reporting.length > 0) {
    warnings.push(
      `github has neither token nor app: the commit statuses of ${reporting.join(', ')} will be refused until credentials with Commit statuses: write are configured`,
    )
  }
  const plain = (settings.registries ?? []).filter((r) => r.http).map((r) => r.host)
  if (plain.length > 0) {
    warnings.push(
      `registries ${plain.join(', ')} are read over plain HTTP (http: true), credentials and all; keep it for registries on a trusted network`,
    )
  }
  if (settings.registryCallbacks.allowHttp) {
    warnings.push(
      'registry_callbacks.allow_http is true: registry callbacks may be sent over plain HTTP; keep it for registries on a trusted network',
    )
  }
  if (Object.keys(settings.sources).length === 0) {
    warnings.push('sources is empty: no registry can send events to this relay')
  }
  if (settings.chains.length === 0) {
    warnings.push('chains is empty: every event is recorded as unmatched')
  }
  settings.chains.forEach((chain, i) => {
    warnings.push(...signatureTagWarnings(chain, i))
  })
  if (settings.publicUrl === null) {
    warnings.push(
      "public_url is not set: callback URLs start with the relay's listening address, http://localhost:<port>, which only this machine reaches; set public_url to the address registries and GitHub runners reach",
    )
  } else {
    const publicUrl = new URL(settings.publicUrl)
    if (publicUrl.protocol === 'http:' && !isLoopback(publicUrl.hostname)) {
      warnings.push(
        `public_url is plain http on ${publicUrl.hostname}: callback URLs, and the tokens in them, travel unencrypted`,
      )
    }
  }
  return warnings
}

const SIGNATURE_SAMPLES = [`sha256-${'0'.repeat(64)}.sig`, `sha256-${'0'.repeat(64)}`]

/**
 * A tag pattern that matches the tags of signatures without naming them (`sha256*`, `*-*`): it
 * looks as if it took them, and does not. Patterns that take every tag (`*`) are left alone.
 */
function signatureTagWarnings(chain: Chain, index: number): string[] {
  return (chain.match.tags ?? [])
    .filter((pattern) => !isExclusion(pattern) && !namesSignatureTags(pattern))
    .filter((pattern) => {
      const glob = tagGlob(pattern)
      return SIGNATURE_SAMPLES.some((tag) => glob(tag)) && !glob('latest')
    })
    .map(
      (pattern) =>
        `chains[${index}].match.tags: "${pattern}" matches tags of signatures, attestations and SBOMs (sha256-<digest>.sig) without naming them, so they start nothing on ${chain.name}; to take them, write a pattern that starts with sha256- or ends in .sig, .att or .sbom`,
    )
}

/**
 * Warns when public_url names this machine on another port than the one the relay listens on:
 * a step on this machine would call back to nothing, or to another program.
 */
export function publicUrlPortWarning(
  publicUrl: string | null,
  listeningPort: number,
): string | null {
  if (publicUrl === null) return null
  const url = new URL(publicUrl)
  if (!isLoopback(url.hostname)) return null
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  if (port === listeningPort) return null
  return `public_url ${publicUrl} names port ${port} of this machine, but the relay listens on port ${listeningPort}: callbacks to it would not reach the relay; set public_url to http://${url.host.replace(/:\d+$/, '')}:${listeningPort}, or leave it out`
}
