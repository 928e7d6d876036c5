import { randomBytes } from 'node:crypto'
import { SOURCES } from '../sources/index.js'
import type { SchemaObject, Source } from '../sources/types.js'
import type { SourceBlock } from '../sources/webhook-setup.js'

/** What `hookchain-relay init` writes. */
export interface StarterConfig {
  /** The YAML text of the file. */
  text: string
  /** The block of each source the file enables, by name, secrets included. */
  sources: Record<string, SourceBlock>
  /** Sources left out because they need settings only their user knows (a host, an audience). */
  leftOut: { source: string; title: string; needs: string[] }[]
}

export interface StarterOptions {
  /** Written as public_url; left out (the relay's listening address) when null. */
  publicUrl: string | null
  /** The sources to enable, by name; by default every source whose settings are all secrets. */
  sources?: readonly string[]
  /** A fresh secret at each call; by default 32 random bytes in hex. */
  secret?: () => string
}

const WIDTH = 100

/** 256 random bits as 64 hex characters: safe in a URL path, a header and YAML alike. */
export function newSecret(): string {
  return randomBytes(32).toString('hex')
}

/**
 * A starter config: every source whose settings are all secrets enabled with fresh ones, an
 * admin token, the GitHub token from the environment and one example chain. `check` accepts it
 * as written.
 */
export function starterConfig(options: StarterOptions): StarterConfig {
  const secret = options.secret ?? newSecret
  const sources: Record<string, SourceBlock> = {}
  const leftOut: StarterConfig['leftOut'] = []
  for (const source of SOURCES) {
    const needs = starterNeeds(source)
    if (options.sources && !options.sources.includes(source.name)) continue
    if (needs.length > 0) leftOut.push({ source: source.name, title: source.title, needs })
    else
      sources[source.name] = Object.fromEntries(requiredKeys(source).map((key) => [key, secret()]))
  }

  const lines: string[] = [
    ...comment(
      'hookchain relay configuration, written by `hookchain-relay init`. `hookchain-relay check --config FILE` lists any problem in it, and `hookchain-relay serve --config FILE` starts the relay with it; docs/configuration.md describes every key.',
    ),
    '#',
    ...comment(
      `The secrets below were generated for this file alone: keep it private. \${NAME} is replaced by the environment variable NAME and \${NAME:-default} falls back to default, so any value can come from the environment instead.`,
    ),
    '',
    ...comment(
      "Base URL at which registries and steps reach this relay: the callback URL handed to each step starts with it. Left out, it is the relay's listening address, http://localhost:<port>, which only this machine reaches.",
    ),
    options.publicUrl === null
      ? '# public_url: https://relay.example.com'
      : `public_url: ${JSON.stringify(options.publicUrl)}`,
    '',
    ...comment(
      'Guards /api and the web pages: send it as "Authorization: Bearer <token>", or as the password of HTTP basic auth in a browser.',
    ),
    `admin_token: ${JSON.stringify(secret())}`,
    '',
    ...comment(
      'How the relay calls GitHub to dispatch steps: a fine-grained token with "Contents: read and write" on the dispatched repositories, here taken from the environment variable GITHUB_TOKEN.',
    ),
    'github:',
    `  token: \${GITHUB_TOKEN:-}`,
    '',
    ...comment(
      'The registries that may send push events: each one listed is enabled. Remove those you do not use; `hookchain-relay init` printed the webhook to configure in each.',
    ),
    'sources:',
  ]
  for (const source of SOURCES) {
    const block = sources[source.name]
    if (!block) continue
    lines.push(
      ...comment(`${source.title} (docs/registries/${source.name}.md): ${description(source)}`, 2),
    )
    lines.push(`  ${source.name}:`)
    for (const [key, value] of Object.entries(block)) {
      lines.push(`    ${key}: ${JSON.stringify(value)}`)
    }
  }
  if (leftOut.length > 0) {
    lines.push(
      ...comment('Also available, with settings of their own (docs/registries/<name>.md):', 2),
      ...leftOut.map(({ source, needs }) => `  #   ${source}: ${needs.join(', ')}`),
    )
  }
  lines.push(
    '',
    ...comment(
      'Each push is matched against every chain, and each matching chain starts a run: its steps go one after the other, and a step that does not report success stops it. Replace this example with your own.',
    ),
    'chains:',
    '  - name: release',
    '    match:',
    '      repository: acme/app',
    '      tags: ["v*"]',
    '    step_timeout: 30m',
    '    steps:',
    '      - dispatch:',
    '          repository: acme/integration-tests',
    '          event_type: image-pushed',
    '      - dispatch:',
    '          repository: acme/deploy',
    '          event_type: deploy',
  )
  return { text: `${lines.join('\n')}\n`, sources, leftOut }
}

/** The settings of a source that init cannot write for its user: those that are not secrets. */
export function starterNeeds(source: Source<unknown>): string[] {
  return requiredKeys(source).filter((key) => !isSecret(source, key))
}

function properties(source: Source<unknown>): Record<string, SchemaObject> {
  return (source.config.schema.properties ?? {}) as Record<string, SchemaObject>
}

function requiredKeys(source: Source<unknown>): string[] {
  const required = source.config.schema.required
  return Array.isArray(required) ? (required as string[]) : []
}

function isSecret(source: Source<unknown>, key: string): boolean {
  return properties(source)[key]?.writeOnly === true
}

function description(source: Source<unknown>): string {
  const text = source.config.schema.description
  return typeof text === 'string' ? text : ''
}

/** `text` as YAML comment lines of at most WIDTH characters, indented by `indent` spaces. */
function comment(text: string, indent = 0): string[] {
  const prefix = `${' '.repeat(indent)}# `
  const lines: string[] = []
  let line = ''
  for (const word of text.split(/\s+/)) {
    if (line && prefix.length + line.length + 1 + word.length > WIDTH) {
      lines.push(prefix + line)
      line = word
    } else line = line ? `${line} ${word}` : word
  }
  if (line) lines.push(prefix + line)
  return lines
}
