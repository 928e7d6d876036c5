/**
 * Globs over repositories and tags, matched in time proportional to the text times the pattern
 * whatever the pattern: a pattern is a small NFA whose states are simulated side by side. Written
 * here rather than taken from picomatch, whose backtracking RegExps take seconds on a pattern such
 * as `*a*a*a*a*a*b` and a long tag, and this runs on every push.
 *
 * Syntax: `*` any run of characters but `/` (a segment that is only `*` takes at least one), `**`
 * as a whole segment any number of segments, `?` one character but `/`, `[abc]`, `[a-z]`, `[!a]`
 * or `[^a]` one character of a class, `{a,b}` alternatives (nested too), `\` escapes.
 */

type Token =
  | { kind: 'char'; char: string }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; ranges: [string, string][] }
  /** Any run of characters; `slash` says whether it may cross `/`. `min` 1 for a lone `*`. */
  | { kind: 'star'; slash: boolean; min: 0 | 1 }

export interface GlobOptions {
  /** Letters match whatever their case (repositories); tags are case-sensitive. */
  nocase?: boolean
}

/** Alternatives a pattern's braces may expand to; `check` refuses patterns with more. */
export const MAX_ALTERNATIVES = 64

export class GlobSyntaxError extends Error {
  override name = 'GlobSyntaxError'
}

/** A test of texts against `patterns` (any of them). Throws `GlobSyntaxError` for a bad one. */
export function globMatcher(
  patterns: string | readonly string[],
  options: GlobOptions = {},
): (text: string) => boolean {
  const list = typeof patterns === 'string' ? [patterns] : patterns
  const fold = options.nocase ? (s: string) => s.toLowerCase() : (s: string) => s
  const programs = list.flatMap((pattern) => alternatives(fold(pattern)).flatMap(compile))
  // Most patterns name one repository: those are compared as they are, not simulated.
  const literals = new Set(programs.filter(isLiteral).map((tokens) => literalOf(tokens)))
  const globs = programs.filter((tokens) => !isLiteral(tokens))
  return (text) => {
    const folded = fold(text)
    return literals.has(folded) || globs.some((tokens) => run(tokens, folded))
  }
}

function isLiteral(tokens: readonly Token[]): boolean {
  return tokens.every((token) => token.kind === 'char')
}

function literalOf(tokens: readonly Token[]): string {
  return tokens.map((token) => (token.kind === 'char' ? token.char : '')).join('')
}

/** Why a pattern cannot be used as a glob, or null when it can. */
export function globProblem(pattern: string): string | null {
  try {
    if (alternatives(pattern).flatMap(compile).length > MAX_ALTERNATIVES) {
      return `it makes more than ${MAX_ALTERNATIVES} alternatives; split it into several patterns`
    }
    return null
  } catch (error) {
    if (error instanceof GlobSyntaxError) return error.message
    throw error
  }
}

/** The pattern with its braces expanded: `{a,b}c` → `ac`, `bc`. */
function alternatives(pattern: string): string[] {
  const open = findBrace(pattern)
  if (open === null) return [pattern]
  const { start, end, options } = open
  const results: string[] = []
  for (const option of options) {
    for (const expanded of alternatives(
      pattern.slice(0, start) + option + pattern.slice(end + 1),
    )) {
      results.push(expanded)
      if (results.length > MAX_ALTERNATIVES) {
        throw new GlobSyntaxError(
          `its braces expand to more than ${MAX_ALTERNATIVES} alternatives; split it into several patterns`,
        )
      }
    }
  }
  return results
}

/** The first `{…}` holding a top-level comma, with its comma-separated options. */
function findBrace(pattern: string): { start: number; end: number; options: string[] } | null {
  for (let start = 0; start < pattern.length; start++) {
    if (pattern[start] === '\\') {
      start++
      continue
    }
    if (pattern[start] !== '{') continue
    let depth = 0
    const cuts: number[] = []
    for (let i = start; i < pattern.length; i++) {
      const c = pattern[i]
      if (c === '\\') i++
      else if (c === '{') depth++
      else if (c === ',' && depth === 1) cuts.push(i)
      else if (c === '}' && --depth === 0) {
        if (cuts.length === 0) break
        const bounds = [start, ...cuts, i]
        const options = bounds
          .slice(1)
          .map((cut, k) => pattern.slice((bounds[k] as number) + 1, cut))
        return { start, end: i, options }
      }
    }
  }
  return null
}

// The programs of one brace-free pattern: one, or one per way its `**` segments can be taken
// (a, **, b as segments is `a/b` or `a/<anything>/b`; a then ** is `a` or `a/<anything>`).
function compile(pattern: string): Token[][] {
  let programs: Token[][] = [[]]
  const segments = splitSegments(pattern)
  segments.forEach((segment, index) => {
    const slash: Token[] = index < segments.length - 1 ? [{ kind: 'char', char: '/' }] : []
    if (segment !== '**') {
      const tokens = [...segmentTokens(segment), ...slash]
      programs = programs.map((program) => [...program, ...tokens])
      return
    }
    const anything = star(true, 0)
    const without = index === segments.length - 1 && index > 0 ? dropSlash : (p: Token[]) => p
    programs = programs.flatMap((program) => [without(program), [...program, anything, ...slash]])
    if (segments.length === 1) programs = [[anything]]
    if (programs.length > MAX_ALTERNATIVES) {
      throw new GlobSyntaxError(
        `its ** segments and braces make more than ${MAX_ALTERNATIVES} alternatives; split it into several patterns`,
      )
    }
  })
  return programs.map(simplify)
}

/** A program without the `/` it ends with: a trailing `**` segment taken as nothing. */
function dropSlash(program: Token[]): Token[] {
  const last = program.at(-1)
  return last?.kind === 'char' && last.char === '/' ? program.slice(0, -1) : program
}

function star(slash: boolean, min: 0 | 1): Token {
  return { kind: 'star', slash, min }
}

/** The pattern split on each `/` that is neither escaped nor in a class. */
function splitSegments(pattern: string): string[] {
  const segments: string[] = []
  let current = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '\\' && i + 1 < pattern.length) {
      current += c + pattern[++i]
    } else if (c === '[') {
      const close = classEnd(pattern, i)
      current += pattern.slice(i, close + 1)
      i = close
    } else if (c === '/') {
      segments.push(current)
      current = ''
    } else current += c
  }
  segments.push(current)
  return segments
}

/** The index of the `]` closing the class opened at `open`, or `open` when none does. */
function classEnd(pattern: string, open: number): number {
  let i = open + 1
  if (pattern[i] === '!' || pattern[i] === '^') i++
  if (pattern[i] === ']') i++
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++
    else if (pattern[i] === ']') return i
  }
  return open
}

function segmentTokens(segment: string): Token[] {
  if (segment === '*') return [star(false, 1)]
  const tokens: Token[] = []
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i] as string
    if (c === '\\' && i + 1 < segment.length)
      tokens.push({ kind: 'char', char: segment[++i] as string })
    else if (c === '*') {
      while (segment[i + 1] === '*') i++
      tokens.push(star(false, 0))
    } else if (c === '?') tokens.push({ kind: 'any' })
    else if (c === '[' && classEnd(segment, i) > i) {
      const close = classEnd(segment, i)
      tokens.push(parseClass(segment.slice(i + 1, close)))
      i = close
    } else if ('()|'.includes(c)) {
      throw new GlobSyntaxError(
        `"${c}" is not taken: extglobs such as @(a|b) are not supported, and no repository or tag holds it; use alternatives in braces, like {a,b}`,
      )
    } else tokens.push({ kind: 'char', char: c })
  }
  return tokens
}

function parseClass(body: string): Token {
  const negated = body.startsWith('!') || body.startsWith('^')
  const chars = [...(negated ? body.slice(1) : body)]
  const ranges: [string, string][] = []
  for (let i = 0; i < chars.length; i++) {
    let from = chars[i] as string
    if (from === '\\' && i + 1 < chars.length) from = chars[++i] as string
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      let to = chars[i + 2] as string
      i += 2
      if (to === '\\' && i + 1 < chars.length) to = chars[++i] as string
      if (to < from) throw new GlobSyntaxError(`the range ${from}-${to} in [${body}] is backwards`)
      ranges.push([from, to])
    } else ranges.push([from, from])
  }
  return { kind: 'class', negated, ranges }
}

/** Merges neighbouring stars, which would otherwise only add states. */
function simplify(tokens: Token[]): Token[] {
  const out: Token[] = []
  for (const token of tokens) {
    const previous = out.at(-1)
    if (token.kind === 'star' && previous?.kind === 'star') {
      previous.slash ||= token.slash
      previous.min = Math.max(previous.min, token.min) as 0 | 1
    } else out.push(token.kind === 'star' ? { ...token } : token)
  }
  return out
}

function accepts(token: Token, char: string): boolean {
  switch (token.kind) {
    case 'char':
      return token.char === char
    case 'any':
      return char !== '/'
    case 'class': {
      if (char === '/') return false
      const inside = token.ranges.some(([from, to]) => char >= from && char <= to)
      return inside !== token.negated
    }
    case 'star':
      return token.slash || char !== '/'
  }
}

/**
 * Simulates the pattern's NFA over the text: state `i` has matched `tokens[0..i)`, and a star's
 * state `i` may stay put. `taken[i]` marks a star that has taken a character (for `min: 1`).
 */
function run(tokens: Token[], text: string): boolean {
  const n = tokens.length
  let active = new Uint8Array(n + 1)
  let next = new Uint8Array(n + 1)
  // 1: reached; 2: reached by a star that has taken at least one character.
  active[0] = 1
  close(tokens, active)
  for (const char of text) {
    next.fill(0)
    let any = false
    for (let i = 0; i < n; i++) {
      if (!active[i]) continue
      const token = tokens[i] as Token
      if (!accepts(token, char)) continue
      if (token.kind === 'star') next[i] = 2
      else next[i + 1] = Math.max(next[i + 1] as number, 1)
      any = true
    }
    if (!any) return false
    close(tokens, next)
    ;[active, next] = [next, active]
  }
  return active[n] !== 0
}

/** Adds the states reached without a character: past a star that may match nothing more. */
function close(tokens: Token[], states: Uint8Array): void {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token
    if (token.kind !== 'star' || !states[i]) continue
    if (token.min === 0 || states[i] === 2) states[i + 1] = Math.max(states[i + 1] as number, 1)
  }
}
