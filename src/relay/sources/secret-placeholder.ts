/** What the relay's pages show instead of a secret: `<sources.dockerhub.secret>`. */
export function secretPlaceholder(source: string, key: string): string {
  return `<sources.${source}.${key}>`
}

/** Whether a value is a placeholder for a secret rather than the secret itself. */
export function isSecretPlaceholder(value: string): boolean {
  return /^<sources\.[^<>\s]+>$/.test(value)
}
