import { type ConfigPath, isMapping } from './path.js'

export type Environment = NodeJS.ProcessEnv | Record<string, string | undefined>

/** A string value that held `${…}` references, and the variables it used. */
export interface SubstitutedValue {
  path: ConfigPath
  /** `NAME` when the variable's value was used, `${NAME:-…}` when its default was. */
  sources: string[]
}

export interface Substitution {
  value: unknown
  problems: { path: ConfigPath; message: string }[]
  substituted: SubstitutedValue[]
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g
const EXPRESSION = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s
const ABSENT = Symbol('absent')

/**
 * Replaces `${NAME}` and `${NAME:-default}` in the string values of a parsed YAML document (never
 * in keys, never in the raw text, so a variable's value cannot change the document's shape);
 * `$${` is a literal `${`. A value that is only `${NAME:-…}` and comes out empty is dropped, as if
 * the key were not written.
 */
export function substituteEnv(
  document: unknown,
  env: Environment,
  /** Where a value is a secret, the messages do not quote what was written there. */
  isSecret: (path: ConfigPath) => boolean = () => false,
): Substitution {
  const problems: Substitution['problems'] = []
  const substituted: SubstitutedValue[] = []

  function inString(text: string, path: ConfigPath): string | typeof ABSENT {
    const sources: string[] = []
    let defaulted = false
    const result = text.replace(REFERENCE, (match: string, expression: string | undefined) => {
      if (match === '$${') return '${'
      if (expression === undefined) {
        problems.push({
          path,
          message: `has a \${ without its closing }: write \${NAME}, or $\${ for a literal \${`,
        })
        return match
      }
      const parsed = EXPRESSION.exec(expression)
      if (!parsed) {
        problems.push({
          path,
          message: `has ${isSecret(path) ? `a \${…}` : `\${${expression}}`}, which is not a variable reference: write \${NAME} or \${NAME:-default} (NAME: letters, digits, _), or $\${ for a literal \${`,
        })
        return match
      }
      const [, name = '', fallback] = parsed
      const value = env[name]
      if (fallback !== undefined) {
        if (value === undefined || value === '') {
          defaulted = true
          sources.push(`\${${name}:-…}`)
          return fallback
        }
      } else if (value === undefined) {
        problems.push({
          path,
          message: `environment variable ${name} is not set (or write \${${name}:-default})`,
        })
        return ''
      }
      sources.push(name)
      return value
    })
    if (sources.length > 0) substituted.push({ path, sources })
    const onlyOneDefault = defaulted && sources.length === 1 && /^\$\{[^}]*:-[^}]*\}$/.test(text)
    return onlyOneDefault && result === '' ? ABSENT : result
  }

  function walk(node: unknown, path: ConfigPath): unknown {
    if (typeof node === 'string') return inString(node, path)
    if (Array.isArray(node)) {
      return node.map((item, i) => {
        const value = walk(item, [...path, i])
        return value === ABSENT ? '' : value
      })
    }
    if (isMapping(node)) {
      const out: Record<string, unknown> = {}
      for (const [key, item] of Object.entries(node)) {
        const value = walk(item, [...path, key])
        if (value !== ABSENT) out[key] = value
      }
      return out
    }
    return node
  }

  const value = walk(document, [])
  return { value: value === ABSENT ? '' : value, problems, substituted }
}

/** `(value from GITHUB_TOKEN)`: says where a value that fails validation came from. */
export function describeSources(sources: readonly string[]): string {
  const names = sources.map((s) => (s.startsWith('${') ? `the default in ${s}` : s))
  return `(value from ${names.join(', ')})`
}
