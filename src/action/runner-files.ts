import { appendFileSync } from 'node:fs'
import { EOL } from 'node:os'

// The runner's file commands, written as @actions/core writes them. Not through core.setOutput
// and core.summary: those load node:crypto (for a random delimiter) and fs/promises, about 4 ms
// of every run of the Action (see docs/benchmarks.md).

/**
 * Appends step outputs to the GITHUB_OUTPUT file in one write. False when the runner offers no
 * such file (runners before 2.297), so that the caller can say the outputs are missing.
 */
export function appendOutputs(outputs: Record<string, string>): boolean {
  const file = process.env.GITHUB_OUTPUT
  if (!file) return false
  const lines = Object.entries(outputs).map(([name, value]) => {
    const delimiter = delimiterFor(value)
    return `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`
  })
  appendFileSync(file, lines.join(''), 'utf8')
  return true
}

/**
 * A heredoc delimiter that is not in the value, so a value can never end its own output early
 * and set another. (@actions/core draws a random one and refuses a value that contains it.)
 */
export function delimiterFor(value: string): string {
  let delimiter = 'ghadelimiter_hookchain'
  for (let n = 1; value.includes(delimiter); n++) delimiter = `ghadelimiter_hookchain_${n}`
  return delimiter
}

/** Appends Markdown or HTML to the job summary; false when the runner offers none. */
export function appendSummary(text: string): boolean {
  const file = process.env.GITHUB_STEP_SUMMARY
  if (!file) return false
  appendFileSync(file, text, 'utf8')
  return true
}
