/**
 * The glob patterns of the `test-results` input: one per line or separated by commas
 * (commas inside `{a,b}` belong to the pattern). Blank entries and `#` comments are dropped.
 */
export function splitPatterns(input: string): string[] {
  const patterns: string[] = []
  for (const line of input.split(/\r?\n/)) {
    let depth = 0
    let current = ''
    for (const char of line) {
      if (char === '{') depth++
      if (char === '}') depth = Math.max(0, depth - 1)
      if (char === ',' && depth === 0) {
        patterns.push(current)
        current = ''
      } else {
        current += char
      }
    }
    patterns.push(current)
  }
  return patterns.map((p) => p.trim()).filter((p) => p !== '' && !p.startsWith('#'))
}
