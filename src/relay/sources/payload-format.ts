import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv'
import { SourcePayloadError } from './types.js'

const ajv = new Ajv({ allErrors: true, strict: true })

/** One registry wire format: its JSON Schema, compiled once, and how to say a body is not in it. */
export interface PayloadFormat<T> {
  /** What the body should have been, for messages: `a Docker Hub push payload`. */
  readonly name: string
  /**
   * The body, typed; throws `SourcePayloadError` saying which parts do not fit the schema. `at`
   * is the pointer of the value inside the body when it is only a part of it (`/data`).
   */
  read(value: unknown, at?: string): T
  /** Throws `SourcePayloadError` for a value the schema cannot judge (a tag, a host). */
  reject(pointer: string, problem: string): never
  /** A string the schema leaves optional but a push needs; throws when it is absent or empty. */
  required(value: string | null | undefined, pointer: string): string
}

export function payloadFormat<T>(name: string, schema: JSONSchemaType<T>): PayloadFormat<T> {
  const check = ajv.compile(schema)
  const reject = (pointer: string, problem: string): never => {
    throw new SourcePayloadError(`expected ${name}: ${pointer || '(body)'} ${problem}`, pointer)
  }
  return {
    name,
    reject,
    required: (value, pointer) => value || reject(pointer, 'is required'),
    read(value, at = '') {
      if (check(value)) return value
      const problems = (check.errors ?? []).map(describe).map((p) => ({
        ...p,
        pointer: `${at}${p.pointer}`,
      }))
      const first = problems[0] ?? { pointer: '', problem: 'does not fit' }
      const all = problems.map((p) => `${p.pointer || '(body)'} ${p.problem}`).join('; ')
      throw new SourcePayloadError(`expected ${name}: ${all}`, first.pointer)
    },
  }
}

function describe(error: ErrorObject): { pointer: string; problem: string } {
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required':
      return {
        pointer: `${error.instancePath}/${String(params.missingProperty)}`,
        problem: 'is required',
      }
    case 'type': {
      const type = String(params.type)
      const article = type === 'object' || type === 'array' || type === 'integer' ? 'an' : 'a'
      return { pointer: error.instancePath, problem: `must be ${article} ${type}` }
    }
    case 'maxLength':
      return { pointer: error.instancePath, problem: `must be at most ${params.limit} characters` }
    case 'enum':
      return {
        pointer: error.instancePath,
        problem: `must be ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(' or ')}`,
      }
    case 'minLength':
      return {
        pointer: error.instancePath,
        problem:
          params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters`,
      }
    case 'maxItems':
      return { pointer: error.instancePath, problem: `must hold at most ${params.limit} items` }
    default:
      return { pointer: error.instancePath, problem: error.message ?? 'is invalid' }
  }
}
