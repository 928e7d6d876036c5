import type { SchemaObject, SourceConfig } from './types.js'

/** Shorter secrets can be guessed by anyone who can reach the relay. */
export const SECRET_MIN_LENGTH = 16

/**
 * A secret in the config: long enough not to be guessed, and `writeOnly`, which tells `check`
 * and the logs never to print its value.
 */
export function secretSetting(title: string, description: string) {
  return {
    type: 'string',
    title,
    description: `${description} At least ${SECRET_MIN_LENGTH} characters; generate one with \`openssl rand -hex 32\`.`,
    minLength: SECRET_MIN_LENGTH,
    writeOnly: true,
  } as const
}

/** A source's config block whose keys are all required strings; `read` names them as the source does. */
export function stringSettings<Key extends string, Settings>(
  description: string,
  properties: Record<Key, SchemaObject>,
  read: (block: Record<Key, string>) => Settings,
): SourceConfig<Settings> {
  return {
    schema: { description, properties, required: Object.keys(properties) },
    read: (block) => read(block as Record<Key, string>),
  }
}
