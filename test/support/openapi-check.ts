import { readFileSync } from 'node:fs'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** The parts of an OpenAPI 3.1 document the checker reads. */
export interface OpenApiDocument {
  paths: Record<string, Record<string, JsonObject>>
  components: JsonObject
  security?: Record<string, string[]>[]
}

/** A request as sent, so the checker can hold it against the operation's parameters and body. */
export interface SentRequest {
  method: string
  url: string
  headers?: Record<string, string>
  body?: string
}

export interface CheckedAnswer {
  status: number
  headers: Headers
  /** Parsed JSON for JSON media types, else the text. */
  body: unknown
  text: string
}

export interface CheckOptions {
  /**
   * false for a relay without `admin_token`: it serves loopback requests without credentials, as
   * the document says in words (OpenAPI has no way to say "unless configured otherwise").
   */
  credentialsRequired?: boolean
}

/** What `app.router.stack` holds in Express 5 (the `router` package's Layer), as far as read here. */
interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean | undefined> }
  handle?: unknown
  match(path: string): false | { path: string }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
const NOT_SERVED = 'urn:hookchain:problem:not-found'

function escapePointer(part: string): string {
  return part.replace(/~/g, '~0').replace(/\//g, '~1')
}

function mediaTypeOf(value: string | null | undefined): string {
  return (value ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Holds real answers of the relay against `openapi.yaml`: each status, content type, header and
 * body must be documented for its operation, and each request that succeeded must fit the
 * operation's parameters, body and security. Remembers which operations were seen.
 */
export function openApiChecker(file: string) {
  const document = parse(readFileSync(file, 'utf8')) as OpenApiDocument
  // Strict: a misspelt keyword in the document is an error, not a constraint silently dropped.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true })
  addFormats.default(ajv)
  // The document's own members, and OpenAPI's annotation keyword, are known to ajv but check nothing.
  for (const keyword of [
    'openapi',
    'info',
    'servers',
    'tags',
    'paths',
    'webhooks',
    'components',
    'security',
  ])
    ajv.addKeyword(keyword)
  ajv.addKeyword('example')
  ajv.addSchema(document as unknown as JsonObject, 'openapi')
  const seen = new Set<string>()
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(
      `^${template
        .split(/(\{[^}]+\})/)
        .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    ),
  }))

  function at(pointer: string): Json {
    let node: Json = document as unknown as Json
    for (const raw of pointer.split('/').slice(1)) {
      const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
      node = isObject(node)
        ? (node[part] ?? null)
        : Array.isArray(node)
          ? (node[Number(part)] ?? null)
          : null
    }
    return node
  }

  /** Follows `$ref`s; returns the object and the JSON pointer where it really is. */
  function resolve(pointer: string): { node: JsonObject; pointer: string } {
    let node = at(pointer)
    while (isObject(node) && typeof node.$ref === 'string') {
      pointer = node.$ref.replace(/^#/, '')
      node = at(pointer)
    }
    if (!isObject(node)) throw new Error(`openapi.yaml has nothing at ${pointer}`)
    return { node, pointer }
  }

  function validatorAt(pointer: string): ValidateFunction {
    const ref = `openapi#${pointer}`
    return ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
  }

  function validate(pointer: string, value: unknown, what: string): void {
    const check = validatorAt(pointer)
    if (!check(value)) {
      throw new Error(
        `${what} does not match openapi.yaml ${pointer}: ${ajv.errorsText(check.errors)}\n${JSON.stringify(value).slice(0, 2000)}`,
      )
    }
  }

  function operationOf(method: string, path: string) {
    const found = templates.find((t) => t.pattern.test(path))
    if (!found) throw new Error(`${path} is not a path of openapi.yaml`)
    const key = method.toLowerCase()
    if (!document.paths[found.template]?.[key])
      throw new Error(`${method} ${found.template} is not an operation of openapi.yaml`)
    return {
      template: found.template,
      pointer: `/paths/${escapePointer(found.template)}/${key}`,
    }
  }

  /** The operation's parameters, path-level ones included, with their pointers. */
  function parametersOf(template: string, operationPointer: string) {
    const lists = [`/paths/${escapePointer(template)}/parameters`, `${operationPointer}/parameters`]
    return lists.flatMap((list) => {
      const items = at(list)
      return Array.isArray(items) ? items.map((_, i) => resolve(`${list}/${i}`)) : []
    })
  }

  function checkSecurity(operation: JsonObject, request: SentRequest, name: string): void {
    const requirements = (operation.security ?? document.security ?? []) as Record<string, Json>[]
    if (requirements.length === 0) return
    const header = (n: string) =>
      Object.entries(request.headers ?? {}).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1]
    const met = requirements.some((requirement) =>
      Object.keys(requirement).every((scheme) => {
        const { node } = resolve(`/components/securitySchemes/${escapePointer(scheme)}`)
        if (node.type === 'http') {
          const prefix = `${String(node.scheme).toLowerCase()} `
          return header('authorization')?.toLowerCase().startsWith(prefix) ?? false
        }
        if (node.type === 'apiKey' && node.in === 'header')
          return header(String(node.name)) !== undefined
        throw new Error(`${name}: the checker cannot judge security scheme ${scheme}`)
      }),
    )
    if (!met)
      throw new Error(`${name} succeeded without the credentials its security section requires`)
  }

  /** A request the relay took must have been one the document allows. */
  function checkRequest(
    template: string,
    pointer: string,
    request: SentRequest,
    name: string,
    options: CheckOptions,
  ) {
    const operation = resolve(pointer).node
    if (options.credentialsRequired !== false) checkSecurity(operation, request, name)
    const url = new URL(request.url)
    const headers = new Map(
      Object.entries(request.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    )
    const parameters = parametersOf(template, pointer)
    for (const { node, pointer: p } of parameters) {
      const where = `${name} parameter ${String(node.name)}`
      if (node.in === 'header') {
        const value = headers.get(String(node.name).toLowerCase())
        if (value === undefined && node.required) throw new Error(`${where} is required`)
        if (value !== undefined) validate(`${p}/schema`, value, where)
      }
    }
    for (const [key, value] of url.searchParams) {
      const parameter = parameters.find(({ node }) => node.in === 'query' && node.name === key)
      if (!parameter)
        throw new Error(`${name} took query parameter ${key}, which is not documented`)
      const schema = resolve(`${parameter.pointer}/schema`).node
      const typed = schema.type === 'integer' && /^-?\d+$/.test(value) ? Number(value) : value
      validate(`${parameter.pointer}/schema`, typed, `${name} query parameter ${key}`)
    }
    if (operation.requestBody === undefined) return
    const body = resolve(`${pointer}/requestBody`)
    const type = mediaTypeOf(headers.get('content-type'))
    const content = isObject(body.node.content) ? body.node.content : {}
    if (!content[type])
      throw new Error(
        `${name} took a ${type || 'typeless'} body; documented: ${Object.keys(content).join(', ')}`,
      )
    if (type.endsWith('json') && request.body !== undefined) {
      const schema = `${body.pointer}/content/${escapePointer(type)}/schema`
      validate(schema, JSON.parse(request.body), `${name} request body`)
    }
  }

  return {
    document,

    /** Validates a value against the schema at a JSON pointer of the document. */
    validate,

    /** Checks one answer (and, when it succeeded, its request); resolves with the parsed body. */
    async check(
      request: SentRequest,
      response: Response,
      options: CheckOptions = {},
    ): Promise<CheckedAnswer> {
      const method = request.method.toUpperCase()
      const path = new URL(request.url).pathname
      const { template, pointer } = operationOf(method, path)
      const name = `${method} ${template}`
      seen.add(name)
      const status = response.status
      const text = await response.text()
      const type = mediaTypeOf(response.headers.get('content-type'))
      const body = type.endsWith('json') && text !== '' ? JSON.parse(text) : text
      const answered = `${name} answered ${status} ${type}`

      if (isObject(body) && body.type === NOT_SERVED)
        throw new Error(`${answered}: the app serves nothing there, yet openapi.yaml documents it`)
      const responses = resolve(`${pointer}/responses`).node
      if (!responses[String(status)])
        throw new Error(
          `${answered}, a status openapi.yaml does not document (only ${Object.keys(responses).join(', ')})\n${text.slice(0, 1000)}`,
        )
      const documented = resolve(`${pointer}/responses/${status}`)

      const headers = isObject(documented.node.headers) ? documented.node.headers : {}
      for (const header of Object.keys(headers)) {
        const spec = resolve(`${documented.pointer}/headers/${escapePointer(header)}`)
        const value = response.headers.get(header)
        if (value === null && spec.node.required)
          throw new Error(`${answered} without the ${header} header openapi.yaml requires`)
        if (value !== null) validate(`${spec.pointer}/schema`, value, `${answered} ${header}`)
      }

      const content = isObject(documented.node.content) ? documented.node.content : null
      if (content) {
        if (!content[type])
          throw new Error(`${answered}; documented: ${Object.keys(content).join(', ')}`)
        validate(`${documented.pointer}/content/${escapePointer(type)}/schema`, body, answered)
      }
      if (type === 'application/problem+json' && isObject(body) && body.status !== status)
        throw new Error(`${answered} with a problem whose status is ${String(body.status)}`)

      if (status < 400) checkRequest(template, pointer, request, name, options)
      return { status, headers: response.headers, body, text }
    },

    /** Documented operations that no checked answer came from. */
    unexercised(): string[] {
      return Object.entries(document.paths).flatMap(([template, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${template}`)
          .filter((key) => !seen.has(key)),
      )
    },

    /**
     * Routes of an Express 5 app that no documented operation reaches: each documented path, its
     * parameters filled in, is run through the app's own route matchers.
     */
    undocumentedRoutes(app: { router: unknown }): string[] {
      const leaves: { mounts: RouterLayer[]; layer: RouterLayer }[] = []
      const walk = (stack: RouterLayer[], mounts: RouterLayer[]) => {
        for (const layer of stack) {
          if (layer.route) leaves.push({ mounts, layer })
          else {
            const inner = (layer.handle as { stack?: unknown } | undefined)?.stack
            if (Array.isArray(inner)) walk(inner as RouterLayer[], [...mounts, layer])
          }
        }
      }
      walk((app.router as { stack: RouterLayer[] }).stack, [])

      const reaches = (leaf: (typeof leaves)[number], method: string, samplePath: string) => {
        let path = samplePath
        for (const mount of leaf.mounts) {
          const matched = mount.match(path)
          if (!matched) return false
          path = path.slice(matched.path.length) || '/'
        }
        return Boolean(leaf.layer.route?.methods[method]) && leaf.layer.match(path) !== false
      }
      const documented = Object.entries(document.paths).flatMap(([template, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((method) => ({ method, path: template.replace(/\{[^}]+\}/g, 'sample') })),
      )
      return leaves
        .filter((leaf) => !documented.some((d) => reaches(leaf, d.method, d.path)))
        .map(({ layer }) => {
          const methods = Object.keys(layer.route?.methods ?? {}).map((m) => m.toUpperCase())
          return `${methods.join(',')} ${String(layer.route?.path)}`
        })
    },
  }
}

export type OpenApiChecker = ReturnType<typeof openApiChecker>
