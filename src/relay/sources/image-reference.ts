import type { PayloadFormat } from './payload-format.js'
import { quoted } from './reason-text.js'

// The grammar of the OCI distribution spec, so that nothing a registry could not have stored is.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`)
const REPOSITORY_MAX = 255
const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?'
const HOST_BODY = `(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::[0-9]{1,5})?`
/** A registry host with an optional port, as JSON Schema `pattern` text (config keys use it). */
export const REGISTRY_HOST_PATTERN = `^${HOST_BODY}$`
/** A registry host followed by an optional repository path prefix: `acme.jfrog.io/docker-virtual`. */
export const REGISTRY_PREFIX_PATTERN = `^${HOST_BODY}(?:/${PATH_COMPONENT})*$`
const HOST = new RegExp(REGISTRY_HOST_PATTERN)
const HOST_MAX = 255
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

/** An image reference taken apart, with Docker Hub's defaults filled in. */
export interface ParsedReference {
  registry: string
  repository: string
  tag: string | null
  digest: string | null
}

export const IMAGE_REFERENCE_MAX = 512

/**
 * `registry/repository[:tag][@digest]`, as `docker pull` reads it: a first part with a dot, a
 * colon or `localhost` is the registry, else it is Docker Hub's (`docker.io`, `library/` for an
 * official image). A string that is no such reference, or that names neither a tag nor a digest,
 * gives the reason instead.
 */
export function parseImageReference(text: string): ParsedReference | { problem: string } {
  if (text.length === 0 || text.length > IMAGE_REFERENCE_MAX) {
    return { problem: `must be 1 to ${IMAGE_REFERENCE_MAX} characters` }
  }
  const at = text.indexOf('@')
  const digest = at === -1 ? null : text.slice(at + 1)
  const named = at === -1 ? text : text.slice(0, at)
  if (digest !== null && !(digest.length <= DIGEST_MAX && DIGEST.test(digest))) {
    return { problem: `has "${digest.slice(0, 80)}" after "@", which is not a digest (sha256:…)` }
  }
  const slash = named.indexOf('/')
  const first = slash === -1 ? '' : named.slice(0, slash)
  const hasHost = slash !== -1 && (/[.:]/.test(first) || first === 'localhost')
  const host = hasHost ? first : 'docker.io'
  const rest = hasHost ? named.slice(slash + 1) : named
  const colon = rest.lastIndexOf(':')
  const tag = colon === -1 ? null : rest.slice(colon + 1)
  const path = colon === -1 ? rest : rest.slice(0, colon)
  if (!isRegistryHost(host)) return { problem: `names "${host}", which is not a registry host` }
  if (tag !== null && !TAG.test(tag)) {
    return { problem: `has the tag "${tag.slice(0, 130)}", which is not a valid tag` }
  }
  const docker = ['docker.io', 'index.docker.io', 'registry-1.docker.io'].includes(host)
  const repository = docker && !path.includes('/') ? `library/${path}` : path
  if (repository.length > REPOSITORY_MAX || !REPOSITORY.test(repository)) {
    return {
      problem: `has the repository "${path.slice(0, 100)}", which is not one (lower-case letters, digits and separators, parts joined by "/")`,
    }
  }
  if (tag === null && digest === null) {
    return { problem: 'names neither a tag nor a digest: add one, like :v1.2.0 or @sha256:…' }
  }
  return { registry: docker ? 'docker.io' : host.toLowerCase(), repository, tag, digest }
}
