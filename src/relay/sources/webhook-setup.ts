import { SOURCES } from './index.js'
import { secretPlaceholder } from './secret-placeholder.js'
import type { SchemaObject, Source, WebhookSetup } from './types.js'

/** A source's config block as written under `sources.<name>` (snake_case keys). */
export type SourceBlock = Record<string, unknown>

/** The webhook to configure in one enabled registry. */
export interface SourceWebhook {
  source: string
  title: string
  setup: WebhookSetup
}

/** The keys of a source's config block that hold secrets: `writeOnly` in its schema. */
export function secretKeys(source: Source<unknown>): string[] {
  const properties = (source.config.schema.properties ?? {}) as Record<string, SchemaObject>
  return Object.entries(properties)
    .filter(([, property]) => property.writeOnly === true)
    .map(([key]) => key)
}

/**
 * A source's settings read from its config block with every secret in it replaced by a
 * placeholder (`<sources.dockerhub.secret>`): what a page may show of a webhook's setup.
 */
export function maskedSettings<Settings>(source: Source<Settings>, block: SourceBlock): Settings {
  const masked: SourceBlock = { ...block }
  for (const key of secretKeys(source as Source<unknown>)) {
    if (key in masked) masked[key] = secretPlaceholder(source.name, key)
  }
  return source.config.read(masked)
}

/**
 * The webhook of every source enabled in `blocks` (the config's `sources`), in the order of
 * `SOURCES`, for a relay reached at `baseUrl`; with `masked`, secrets are placeholders.
 */
export function sourceWebhooks(
  baseUrl: string,
  blocks: Record<string, SourceBlock>,
  options: { masked: boolean },
): SourceWebhook[] {
  const base = baseUrl.replace(/\/+$/, '')
  return SOURCES.filter((source) => Object.hasOwn(blocks, source.name)).map((source) => {
    const block = blocks[source.name] as SourceBlock
    const settings = options.masked ? maskedSettings(source, block) : source.config.read(block)
    return { source: source.name, title: source.title, setup: source.webhook(base, settings) }
  })
}
