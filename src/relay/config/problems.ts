/** One thing to fix in the config file. */
export interface ConfigProblem {
  /** Dotted, with indices: `chains[0].steps[1].dispatch.repository`; `''` for the whole file. */
  path: string
  message: string
  /** For YAML syntax errors: where in the file, counted from 1. */
  line?: number
  column?: number
}

/** A config that cannot be used, with every problem found (not just the first). */
export class ConfigError extends Error {
  override name = 'ConfigError'

  constructor(
    readonly problems: ConfigProblem[],
    readonly file = 'config',
  ) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    super(`${file} has ${count}:\n${formatConfigProblems(file, problems)}`)
  }
}

/** One line per problem: `hookchain.yml: chains[0].name: must be …`. */
export function formatConfigProblems(file: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => (p.path ? `${file}: ${p.path}: ${p.message}` : `${file}: ${p.message}`))
    .join('\n')
}
