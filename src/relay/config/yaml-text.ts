import { parseDocument } from 'yaml'
import { getErrorMessage } from '../../shared/errors.js'
import type { ConfigProblem } from './problems.js'

/**
 * Parses YAML text into plain data. Syntax errors come back as problems with their line and
 * column, one per line (one slip often confuses the parser several times on the same line).
 */
export function parseYaml(text: string): { value: unknown; problems: ConfigProblem[] } {
  const document = parseDocument(text, { uniqueKeys: true, merge: true })
  const lines = text.split(/\r?\n/)
  const problems: ConfigProblem[] = []
  const reported = new Set<number>()
  for (const error of document.errors) {
    const { line = 1, col: column = 1 } = error.linePos?.[0] ?? {}
    if (reported.has(line)) continue
    reported.add(line)
    const what = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')
    problems.push({
      path: '',
      message: `line ${line}, column ${column}: ${what}${hintFor(lines[line - 1] ?? '')}`,
      line,
      column,
    })
  }
  if (problems.length > 0) return { value: undefined, problems }
  try {
    return { value: document.toJS({ maxAliasCount: 100 }), problems }
  } catch (error) {
    return { value: undefined, problems: [{ path: '', message: getErrorMessage(error) }] }
  }
}

/** `{ secret: ${X} }` is not YAML: in flow collections, `{` and `}` are syntax unless quoted. */
function hintFor(line: string): string {
  const unquotedReference = /(^|[^"'])\$\{/.test(line)
  const flowCollection = /(^|[^$])[{[]/.test(line.replaceAll(/\$\{[^}]*\}/g, ''))
  return unquotedReference && flowCollection
    ? ` (inside { } or [ ], put \${…} in quotes: secret: "\${DOCKERHUB_SECRET}")`
    : ''
}
