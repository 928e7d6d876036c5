import { REGISTRY_HOST_PATTERN } from './image-reference.js'

const HOST_MAX = 255

/**
 * The `registry` key of a source whose payloads name no host (Artifactory, Nexus, Gitea): the
 * host, and port, that Docker clients push to, as it starts an image reference.
 */
export function registrySetting(description: string, examples: readonly string[]) {
  return {
    type: 'string',
    title: 'Registry',
    description,
    maxLength: HOST_MAX,
    pattern: REGISTRY_HOST_PATTERN,
    patternErrorMessage:
      'must be a registry host with an optional port, as an image reference starts: registry.acme.com or registry.acme.com:8443 (no https://, no path)',
    examples,
  } as const
}
