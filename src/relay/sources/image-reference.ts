import type { PayloadFormat } from './payload-format.js'
import { quoted } from './reason-text.js'

// The grammar of the OCI distribution spec, so that nothing a registry could not have stored is.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const REPOSITORY_MAX = 255
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
const HOST = new RegExp(
  `^(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?$`,
)
const HOST_MAX = 255
/** A registry host as a config's JSON Schema `pattern`: `zot.acme.com`, `10.0.0.5:5000`. */
export const REGISTRY_HOST_PATTERN = HOST.source
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/
const DIGEST_MAX = 255

export function checkTag<T>(format: PayloadFormat<T>, tag: string, pointer: string): string {
  if (TAG.test(tag)) return tag
  return format.reject(
    pointer,
    `must be an image tag (at most 128 letters, digits, "_", "." or "-", not starting with "." or "-"), not ${quoted(tag)}`,
  )
}

export function checkRepository<T>(
  format: PayloadFormat<T>,
  repository: string,
  pointer: string,
): string {
  if (repository.length <= REPOSITORY_MAX && REPOSITORY.test(repository)) return repository
  return format.reject(
    pointer,
    `must be a repository path such as acme/app (lower-case letters and digits, parts separated by "/", at most ${REPOSITORY_MAX} characters), not ${quoted(repository)}`,
  )
}

export function checkRegistry<T>(format: PayloadFormat<T>, host: string, pointer: string): string {
  if (isRegistryHost(host)) return host
  return format.reject(
    pointer,
    `must name a registry host such as quay.io or 127.0.0.1:5000, not ${quoted(host)}`,
  )
}

export function isRegistryHost(host: string): boolean {
  return host.length <= HOST_MAX && HOST.test(host)
}

export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && value.length <= DIGEST_MAX && DIGEST.test(value)
}

/**
 * The host a reference or URL starts with: `quay.io` of `quay.io/acme/app`,
 * `127.0.0.1:5055` of `http://127.0.0.1:5055/v2/acme/app/manifests/…`.
 */
export function hostOf(reference: string): string {
  const withoutScheme = reference.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '')
  return withoutScheme.split('/', 1)[0] ?? ''
}
