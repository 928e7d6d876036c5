import { sameSecret } from './secret-compare.js'
import { isSecretPlaceholder } from './secret-placeholder.js'
import { type Authentication, type AuthRequest, SourceAuthError } from './types.js'

/**
 * The check of registries that sign nothing (Docker Hub, Quay): the webhook URL ends with a secret,
 * `/hooks/<source>/<secret>`, equal to `sources.<source>.secret`.
 */
export function pathSecretCheck(source: string, registry: string) {
  return (request: AuthRequest, secrets: { secret: string }): Authentication => {
    if (request.pathSecret === null) {
      throw new SourceAuthError(
        `the URL has no secret: point the ${registry} webhook at /hooks/${source}/<secret>, with the secret of sources.${source}.secret`,
      )
    }
    if (!sameSecret(request.pathSecret, secrets.secret)) {
      throw new SourceAuthError(`the secret in the URL does not match sources.${source}.secret`)
    }
    return 'authenticated'
  }
}

/** `<baseUrl>/hooks/<source>/<secret>`: the secret encoded as a path segment, a placeholder shown as it is. */
export function pathSecretUrl(baseUrl: string, source: string, secret: string): string {
  const segment = isSecretPlaceholder(secret) ? secret : encodeURIComponent(secret)
  return `${baseUrl}/hooks/${source}/${segment}`
}
