import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

interface OpenApiDocument {
  paths: Record<string, Record<string, JsonObject>>
  components: JsonObject
}

let spec: OpenApiDocument | undefined

/** GitHub's own description of api.github.com, from @octokit/openapi; parsed once per process. */
function githubSpec(): OpenApiDocument {
  if (!spec) {
    const file = createRequire(import.meta.url).resolve(
      '@octokit/openapi/generated/api.github.com.json',
    )
    spec = JSON.parse(readFileSync(file, 'utf8')) as OpenApiDocument
  }
  return spec
}

/** Paths and methods of an operation, e.g. `repos/create-dispatch-event`. */
export function findOperation(operationId: string): {
  path: string
  method: string
  operation: JsonObject
} {
  for (const [path, methods] of Object.entries(githubSpec().paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (operation.operationId === operationId) return { path, method, operation }
    }
  }
  throw new Error(`@octokit/openapi has no operation ${operationId}`)
}

/** The JSON Schema of an operation's JSON request body, every `$ref` resolved in place. */
export function requestBodySchema(operationId: string): JsonObject {
  const { operation } = findOperation(operationId)
  const body = resolve(operation.requestBody ?? null, []) as JsonObject | null
  const content = body?.content as JsonObject | undefined
  const json = content?.['application/json'] as JsonObject | undefined
  if (!json?.schema) throw new Error(`${operationId} has no JSON request body`)
  return resolve(json.schema, []) as JsonObject
}

function resolve(value: Json, seen: string[]): Json {
  if (Array.isArray(value)) return value.map((item) => resolve(item, seen))
  if (typeof value !== 'object' || value === null) return value
  const ref = value.$ref
  if (typeof ref === 'string') {
    if (seen.includes(ref)) throw new Error(`cyclic $ref ${ref}: cannot inline it`)
    return resolve(lookup(ref), [...seen, ref])
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, seen)]))
}

function lookup(ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported, not ${ref}`)
  let node: Json = githubSpec() as unknown as Json
  for (const part of ref.slice(2).split('/')) {
    const key = part.replaceAll('~1', '/').replaceAll('~0', '~')
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !(key in node)) {
      throw new Error(`$ref ${ref} points nowhere`)
    }
    node = node[key] as Json
  }
  return node
}
