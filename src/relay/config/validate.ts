import { Ajv, type ErrorObject } from 'ajv'
import { SECRET_MIN_LENGTH } from '../sources/settings-fields.js'
import { closestName } from './closest-name.js'
import { DURATION_PATTERN } from './duration.js'
import { type ConfigPath, isMapping, pointerToPath } from './path.js'
import { configSchema } from './schema.js'

export interface PathProblem {
  path: ConfigPath
  message: string
}

const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  verbose: true,
  strict: true,
  // The `not: { required: [token, app] }` on github names properties of its parent schema.
  strictRequired: false,
  // app_id is an App ID (integer) or a Client ID (text).
  allowUnionTypes: true,
})
ajv.addKeyword({ keyword: 'patternErrorMessage', schemaType: 'string' })
const check = ajv.compile(configSchema)

/** Checks the document against the schema and fills in its defaults (in place). */
export function validateSchema(value: unknown): PathProblem[] {
  if (check(value)) return []
  return (check.errors ?? []).map((error) => explain(error, value))
}

/** `key:` with nothing after it. The schema lets optional keys be null, so this looks for them. */
export function findEmptyValues(node: unknown, path: ConfigPath = []): PathProblem[] {
  if (node === null && path.length > 0) {
    const inList = typeof path[path.length - 1] === 'number'
    return [
      {
        path,
        message: inList
          ? 'is an empty list item: give it a value, or remove the -'
          : 'has no value: give it one, or remove the key',
      },
    ]
  }
  if (Array.isArray(node)) return node.flatMap((item, i) => findEmptyValues(item, [...path, i]))
  if (isMapping(node)) {
    return Object.entries(node).flatMap(([key, item]) => findEmptyValues(item, [...path, key]))
  }
  return []
}

type Schema = Record<string, unknown>

function explain(error: ErrorObject, root: unknown): PathProblem {
  const path = [...pointerToPath(error.instancePath, root)]
  const schema = (error.parentSchema ?? {}) as Schema
  const properties = Object.keys((schema.properties ?? {}) as Schema)
  switch (error.keyword) {
    case 'required':
      return { path: [...path, String(error.params.missingProperty)], message: 'is required' }
    case 'additionalProperties': {
      const key = String(error.params.additionalProperty)
      const meant = closestName(key, properties)
      const hint = meant ? `did you mean ${meant}?` : `allowed: ${properties.join(', ')}`
      return { path: [...path, key], message: `unknown key '${key}' (${hint})` }
    }
    case 'type':
      return { path, message: explainType(String(error.params.type), error.data, schema) }
    case 'pattern':
      return { path, message: String(schema.patternErrorMessage ?? `must match ${schema.pattern}`) }
    case 'minLength': {
      const limit = Number(error.params.limit)
      if (limit === SECRET_MIN_LENGTH) {
        return {
          path,
          message: `must be at least ${limit} characters: short secrets are guessable (generate one with: openssl rand -hex 32)`,
        }
      }
      return {
        path,
        message: limit === 1 ? 'must not be empty' : `must be at least ${limit} characters`,
      }
    }
    case 'maxLength':
      return { path, message: `must be at most ${error.params.limit} characters` }
    case 'minimum':
    case 'maximum':
      return {
        path,
        message:
          schema.minimum !== undefined && schema.maximum !== undefined
            ? `must be between ${schema.minimum} and ${schema.maximum}`
            : `must be at ${error.keyword === 'minimum' ? 'least' : 'most'} ${error.params.limit}`,
      }
    case 'minItems': {
      const item = String((schema.items as Schema | undefined)?.title ?? 'item').toLowerCase()
      const optional = schema.nullable === true ? `, or be left out` : ''
      return { path, message: `must list at least one ${item}${optional}` }
    }
    case 'minProperties':
      return { path, message: `must have one of ${alternatives(properties)}` }
    case 'maxProperties': {
      const what = String(schema.title ?? 'item').toLowerCase()
      return {
        path,
        message: `must have only one of ${alternatives(properties)}: write each as its own ${what}`,
      }
    }
    case 'not': {
      const both = ((schema.not as Schema | undefined)?.required ?? []) as string[]
      return { path, message: `must have ${both.join(' or ')}, not both` }
    }
    default:
      return { path, message: error.message ?? 'is not valid' }
  }
}

/** `a or b`, `a, b or c`. */
function alternatives(names: readonly string[]): string {
  return names.length < 3
    ? names.join(' or ')
    : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`
}

function explainType(expected: string, data: unknown, schema: Schema): string {
  const wantsText = expected.split(',').includes('string')
  if (wantsText && schema.pattern === DURATION_PATTERN && typeof data === 'number') {
    return `${schema.patternErrorMessage} (a bare number has no unit)`
  }
  if (wantsText && (typeof data === 'number' || typeof data === 'boolean')) {
    // A secret is not repeated, not even as YAML rounded it.
    const read = schema.writeOnly === true ? 'it' : JSON.stringify(data)
    return `must be text, but YAML read ${read} as a ${typeof data}: put the value in quotes`
  }
  const names: Record<string, string> = {
    string: 'text',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    object: 'a mapping (key: value)',
    array: 'a list (- item lines, or [a, b])',
  }
  return `must be ${expected
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ')}`
}

/** The schema of the value at `path`, if the schema describes one there. */
export function schemaAt(path: ConfigPath): Schema | undefined {
  let schema: Schema | undefined = configSchema as unknown as Schema
  for (const segment of path) {
    schema =
      typeof segment === 'number'
        ? (schema?.items as Schema | undefined)
        : ((schema?.properties as Schema | undefined)?.[segment] as Schema | undefined)
  }
  return schema
}

/** A secret's place (a `writeOnly` property): messages about it never show its value. */
export function isSecretPath(path: ConfigPath): boolean {
  return schemaAt(path)?.writeOnly === true
}

/** Every secret the document holds, to be kept out of texts that others may read. */
export function secretValues(node: unknown, path: ConfigPath = []): string[] {
  if (typeof node === 'string') return isSecretPath(path) ? [node] : []
  if (Array.isArray(node)) return node.flatMap((item, i) => secretValues(item, [...path, i]))
  if (isMapping(node)) {
    return Object.entries(node).flatMap(([key, item]) => secretValues(item, [...path, key]))
  }
  return []
}

/**
 * An environment variable is always text; where the schema wants a number or a boolean, its
 * value is read as one (`writes_per_minute: ${WRITES}`). Anything else is left for the schema.
 */
export function convertSubstituted(root: unknown, path: ConfigPath): void {
  const schema = schemaAt(path)
  let parent: unknown = null
  let node: unknown = root
  for (const segment of path) {
    parent = node
    node = (node as Record<string | number, unknown> | null)?.[segment]
  }
  const last = path[path.length - 1]
  if (typeof node !== 'string' || last === undefined || !isMapping(parent)) return
  const text = node.trim()
  if (schema?.type === 'integer' && /^-?\d+$/.test(text)) parent[last] = Number(text)
  if (schema?.type === 'boolean' && /^(true|false)$/.test(text)) parent[last] = text === 'true'
}
