import { configSchema } from './schema.js'

type Schema = Record<string, unknown>

const ANNOTATIONS = ['title', 'description', 'default', 'examples']
const SCALAR_TYPES = new Set(['string', 'integer', 'number', 'boolean'])

/** Editors see the file before substitution, so any scalar may still be a `${NAME}` reference. */
const REFERENCE: Schema = {
  type: 'string',
  pattern: '\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}',
  description: 'An environment variable reference, replaced when the relay loads the file.',
}

/**
 * The config schema as editors should apply it (schemas/hookchain.schema.json): every scalar
 * also accepts a `${NAME}` reference, and ajv's `nullable` is dropped. The relay itself checks
 * the substituted values against `configSchema`.
 */
export function editorSchema(): Schema {
  return forEditors(configSchema as unknown as Schema)
}

function forEditors(schema: Schema): Schema {
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'nullable') continue
    if (key === 'properties' && isSchema(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, forEditors(sub as Schema)]),
      )
    } else if (
      (key === 'items' || key === 'not' || key === 'additionalProperties') &&
      isSchema(value)
    ) {
      out[key] = forEditors(value)
    } else {
      out[key] = value
    }
  }
  if (!isScalar(out.type)) return out
  const annotations: Schema = {}
  const checks: Schema = {}
  for (const [key, value] of Object.entries(out)) {
    if (ANNOTATIONS.includes(key)) annotations[key] = value
    else checks[key] = value
  }
  return { ...annotations, anyOf: [checks, REFERENCE] }
}

function isScalar(type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type]
  return types.length > 0 && types.every((t) => SCALAR_TYPES.has(t as string))
}

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
