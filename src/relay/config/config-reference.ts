import { configSchema } from './schema.js'

type Schema = Record<string, unknown>

/** docs/configuration.md, relative to the repository root; written by scripts/write-config-schema.ts. */
export const CONFIG_REFERENCE_FILE = 'docs/configuration.md'

interface Key {
  /** `chains[].steps[].dispatch.repository` */
  path: string
  schema: Schema
  required: boolean
  /** Where the key is in the document, for the heading level. */
  depth: number
}

/**
 * The reference of every config key, generated from the config schema: type, default,
 * constraints, whether it is required and whether it is a secret (`writeOnly`).
 */
export function configReference(): string {
  const root = configSchema as unknown as Schema
  const keys = collectKeys(root, '', 0)
  const lines = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/relay/config/schema.ts by `npx tsx scripts/write-config-schema.ts`; edit the schema, not this file. -->',
    '',
    `${text(root.description)}`,
    '',
    'The relay reads `./hookchain.yml`, or the file of `--config` or `HOOKCHAIN_CONFIG`.',
    '`hookchain-relay check --config FILE` prints every problem in a file with its path, and',
    '`hookchain-relay init` writes a starter file with fresh secrets. Editors that read',
    '`schemas/hookchain.schema.json` (the first line of the example `hookchain.yml` names it)',
    'complete and check the same keys.',
    '',
    'A key marked **secret** is write-only: `check`, the logs and the pages never show its value.',
    `Keep secrets out of the file with \`\${NAME}\` references to the environment.`,
    'Paths below write list items as `[]`: `chains[].steps[]` is any step of any chain. A key the',
    'schema does not know is an error, and `check` suggests the closest known one.',
    '',
    '## Every key',
    '',
    '| key | type | required | default | secret |',
    '| --- | --- | --- | --- | --- |',
    ...keys.map(
      (key) =>
        `| [\`${key.path}\`](#${anchor(key.path)}) | ${typeOf(key.schema)} | ${key.required ? 'yes' : 'no'} | ${defaultOf(key.schema)} | ${key.schema.writeOnly === true ? 'yes' : ''} |`,
    ),
  ]
  for (const key of keys) lines.push('', ...describeKey(key))
  return `${lines.join('\n')}\n`
}

function collectKeys(schema: Schema, prefix: string, depth: number): Key[] {
  const properties = (schema.properties ?? {}) as Record<string, Schema>
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : []
  return Object.entries(properties).flatMap(([name, property]) => {
    const path = prefix ? `${prefix}.${name}` : name
    const key: Key = { path, schema: property, required: required.includes(name), depth }
    const items = property.items as Schema | undefined
    const below = items?.properties
      ? collectKeys(items, `${path}[]`, depth + 1)
      : collectKeys(property, path, depth + 1)
    return [key, ...below]
  })
}

function describeKey(key: Key): string[] {
  const { schema } = key
  const heading = '#'.repeat(Math.min(key.depth + 2, 4))
  const title = text(schema.title)
  const facts = [
    `- Type: ${typeOf(schema)}`,
    `- Required: ${key.required ? 'yes' : 'no'}`,
    ...(schema.default !== undefined ? [`- Default: ${defaultOf(schema)}`] : []),
    ...constraintsOf(schema).map((c) => `- ${c}`),
    ...(isSchema(schema.items)
      ? constraintsOf(schema.items).map((c) => `- Each item: ${lowerFirst(c)}`)
      : []),
    ...(Array.isArray(schema.examples)
      ? [`- Examples: ${(schema.examples as unknown[]).map((e) => code(e)).join(', ')}`]
      : []),
    ...(schema.writeOnly === true
      ? ['- **Secret**: never shown by `check`, the logs or the pages.']
      : []),
  ]
  return [
    `${heading} \`${key.path}\``,
    '',
    title ? `**${title}.** ${text(schema.description)}` : text(schema.description),
    '',
    ...facts,
  ]
}

function typeOf(schema: Schema): string {
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string]
  const items = schema.items as Schema | undefined
  return types
    .map((type) => {
      if (type === 'array') return `list of ${items ? typeOf(items) : 'values'}`
      if (type === 'object') return 'mapping'
      if (type === 'string' && schema.pattern === HTTP_URL) return 'URL'
      return type
    })
    .join(' or ')
}

/** The pattern of http(s) URLs, to call them URLs rather than strings. */
const HTTP_URL = ((configSchema as unknown as Schema).properties as Record<string, Schema>)
  .public_url?.pattern

function defaultOf(schema: Schema): string {
  if (schema.default === undefined) return ''
  const value = schema.default
  if (typeof value === 'object' && value !== null && Object.keys(value).length === 0) {
    return Array.isArray(value) ? 'empty list' : 'empty'
  }
  return code(value)
}

function constraintsOf(schema: Schema): string[] {
  const out: string[] = []
  if (typeof schema.patternErrorMessage === 'string') {
    out.push(`Must ${schema.patternErrorMessage.replace(/^must /, '')}`)
  } else if (typeof schema.pattern === 'string') out.push(`Pattern: ${code(schema.pattern)}`)
  const range = (min: unknown, max: unknown, unit: string) => {
    if (typeof min === 'number' && typeof max === 'number') out.push(`${min} to ${max}${unit}`)
    else if (typeof min === 'number' && min > 0) out.push(`At least ${min}${unit}`)
    else if (typeof max === 'number') out.push(`At most ${max}${unit}`)
  }
  range(schema.minLength, schema.maxLength, ' character(s)')
  range(schema.minimum, schema.maximum, '')
  range(schema.minItems, schema.maxItems, ' item(s)')
  if (schema.minProperties === 1 && schema.maxProperties === 1) {
    const names = Object.keys((schema.properties ?? {}) as Schema).map((n) => `\`${n}\``)
    out.push(`Exactly one of ${names.join(', ')}`)
  }
  const not = schema.not as Schema | undefined
  if (Array.isArray(not?.required)) {
    out.push(`Not both ${(not.required as string[]).map((n) => `\`${n}\``).join(' and ')}`)
  }
  return out
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function lowerFirst(value: string): string {
  return value.charAt(0).toLowerCase() + value.slice(1)
}

function code(value: unknown): string {
  const shown = typeof value === 'string' ? value : JSON.stringify(value)
  return `\`${shown.replaceAll('|', '\\|')}\``
}

/** A description, on one line, with table pipes escaped. */
function text(value: unknown): string {
  return typeof value === 'string' ? value.replace(/\s+/g, ' ').replaceAll('|', '\\|') : ''
}

/** The anchor GitHub gives a heading of `` `path` ``: lower case, punctuation but - and _ dropped. */
function anchor(path: string): string {
  return path
    .toLowerCase()
    .replace(/[^a-z0-9_\- ]/g, '')
    .replace(/ /g, '-')
}
