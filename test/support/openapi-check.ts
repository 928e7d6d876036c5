import { readFileSync } from 'node:fs'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

type Operation = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> }
type Document = { paths: Record<string, Record<string, Operation>> }

const METHODS = ['get', 'post', 'put', 'patch', 'delete']

function pointer(...parts: string[]): string {
  return parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')
}

/** Checks real answers against openapi.yaml, and remembers which documented operations were seen. */
export function openApiChecker(file: string) {
  const document = parse(readFileSync(file, 'utf8')) as Document
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(document as object, 'openapi')
  const seen = new Set<string>()
  const templates = Object.keys(document.paths).map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
  }))

  function operationOf(method: string, path: string) {
    const found = templates.find((t) => t.pattern.test(path))
    if (!found) throw new Error(`${method} ${path} is not in openapi.yaml`)
    const operation = document.paths[found.template]?.[method.toLowerCase()]
    if (!operation) throw new Error(`${method} ${found.template} is not in openapi.yaml`)
    return { template: found.template, operation }
  }

  return {
    /** Validates one answer: its status is documented, and so are its content type and body. */
    async check(method: string, url: string, response: Response): Promise<unknown> {
      const path = new URL(url).pathname
      const { template, operation } = operationOf(method, path)
      seen.add(`${method.toUpperCase()} ${template}`)
      const status = String(response.status)
      const documented = operation.responses?.[status]
      if (!documented)
        throw new Error(
          `${method} ${template} answered ${status}, which openapi.yaml does not document`,
        )
      const type = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? ''
      const content = documented.content
      if (!content) return undefined
      if (!content[type])
        throw new Error(
          `${method} ${template} ${status} answered ${type}; documented: ${Object.keys(content).join(', ')}`,
        )
      const text = await response.text()
      const body = type.endsWith('json') ? JSON.parse(text) : text
      const ref = `openapi#/${pointer('paths', template, method.toLowerCase(), 'responses', status, 'content', type, 'schema')}`
      const validate = ajv.getSchema(ref) ?? ajv.compile({ $ref: ref })
      if (!validate(body)) {
        throw new Error(
          `${method} ${template} ${status} does not match openapi.yaml: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2000)}`,
        )
      }
      return body
    },
    /** Documented operations no answer was checked against. */
    unexercised(): string[] {
      return Object.entries(document.paths).flatMap(([template, item]) =>
        Object.keys(item)
          .filter((m) => METHODS.includes(m))
          .map((m) => `${m.toUpperCase()} ${template}`)
          .filter((key) => !seen.has(key)),
      )
    },
  }
}
