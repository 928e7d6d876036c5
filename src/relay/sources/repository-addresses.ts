import { REGISTRY_PREFIX_PATTERN } from './image-reference.js'

/**
 * Where Docker clients reach the images of one repository of a repository manager (Artifactory,
 * Nexus): a host, and what comes between it and the image name.
 */
export interface DockerAddress {
  registry: string
  /** `docker-local` of `acme.jfrog.io/docker-local/acme/app`; empty when the host alone leads. */
  prefix: string
}

/**
 * The `repositories` key of such a source: for the repositories that Docker clients reach in
 * another way than the source's default, by the repository's name in the manager.
 */
export function repositoriesSetting(description: string, example: Record<string, string>) {
  return {
    type: 'object',
    title: 'Repository addresses',
    description,
    additionalProperties: {
      type: 'string',
      maxLength: 255,
      pattern: REGISTRY_PREFIX_PATTERN,
      patternErrorMessage:
        'must be what an image reference starts with: a registry host with an optional port, then an optional path, such as docker.acme.com, acme.com:8876 or acme.com/docker-hosted (no https://)',
    },
    examples: [example],
    nullable: true,
  } as const
}

/** The addresses of a validated `repositories` block (absent: none). */
export function readAddresses(block: unknown): ReadonlyMap<string, DockerAddress> {
  const entries = Object.entries((block ?? {}) as Record<string, string>)
  return new Map(entries.map(([name, value]) => [name, addressOf(value)]))
}

/** `docker.acme.com` → that host, no prefix; `acme.jfrog.io/docker-virtual` → host and path. */
export function addressOf(value: string): DockerAddress {
  const slash = value.indexOf('/')
  if (slash < 0) return { registry: value.toLowerCase(), prefix: '' }
  return { registry: value.slice(0, slash).toLowerCase(), prefix: value.slice(slash + 1) }
}

/** The image's repository path at that address: `acme/app` behind its prefix. */
export function repositoryAt(address: DockerAddress, image: string): string {
  return address.prefix === '' ? image : `${address.prefix}/${image}`
}
