import { Ajv, type ErrorObject, type JSONSchemaType } from 'ajv'

/** The four fields of Docker Hub's "Callback JSON data", which every chain step reports. */
export type CallbackState = 'success' | 'failure' | 'error' | 'pending'

export interface Callback {
  state: CallbackState
  description?: string
  context?: string
  target_url?: string
}

export const CALLBACK_STATES: readonly CallbackState[] = ['success', 'failure', 'error', 'pending']
/** A final state ends the step; `pending` is a progress report. */
export const FINAL_STATES: readonly CallbackState[] = ['success', 'failure', 'error']
export const DESCRIPTION_MAX = 255
export const CONTEXT_MAX = 100
export const TARGET_URL_MAX = 2048

export const callbackSchema: JSONSchemaType<Callback> = {
  $id: 'https://hookchain.dev/schemas/callback.json',
  title: 'hookchain callback',
  description: "A chain step's result, as Docker Hub's webhook chains validated it.",
  type: 'object',
  properties: {
    state: { type: 'string', enum: [...CALLBACK_STATES] },
    description: { type: 'string', maxLength: DESCRIPTION_MAX, nullable: true },
    context: { type: 'string', maxLength: CONTEXT_MAX, nullable: true },
    target_url: {
      type: 'string',
      maxLength: TARGET_URL_MAX,
      pattern: '^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+(?:[/?#]\\S*)?$',
      nullable: true,
    },
  },
  required: ['state'],
  additionalProperties: false,
}

export interface SchemaProblem {
  /** JSON pointer to the offending value, `""` for the whole body. */
  pointer: string
  message: string
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: SchemaProblem[] }

const ajv = new Ajv({ allErrors: true, strict: true })
const check = ajv.compile(callbackSchema)

/** Validates a callback body against the one schema that the Action and the relay share. */
export function validateCallback(body: unknown): Validation<Callback> {
  if (check(body)) return { ok: true, value: body }
  return { ok: false, problems: describeErrors(check.errors ?? []) }
}

export function describeErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  return errors.map((e) => {
    const pointer =
      e.keyword === 'required' || e.keyword === 'additionalProperties'
        ? `${e.instancePath}/${String(e.params.missingProperty ?? e.params.additionalProperty)}`
        : e.instancePath
    return { pointer, message: explain(e) }
  })
}

function explain(e: ErrorObject): string {
  switch (e.keyword) {
    case 'required':
      return `is required`
    case 'additionalProperties':
      return `is not a callback field (allowed: state, description, context, target_url)`
    case 'enum':
      return `must be one of ${(e.params.allowedValues as string[]).join(', ')}`
    case 'maxLength':
      return `must be at most ${e.params.limit} characters`
    case 'pattern':
      return 'must be an absolute http(s) URL'
    case 'type':
      return `must be ${e.params.type === 'object' ? 'a JSON object' : `a ${e.params.type}`}`
    default:
      return e.message ?? 'is invalid'
  }
}

/** One line for a person: `/state must be one of success, failure, error, pending; …` */
export function formatProblems(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => `${p.pointer || '(body)'} ${p.message}`).join('; ')
}
