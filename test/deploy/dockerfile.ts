/**
 * Just enough of the Dockerfile syntax to check the repository's Dockerfile against the code:
 * comments, `\` continuations, flags, exec form (JSON) and KEY=value pairs.
 */

export interface Instruction {
  keyword: string
  /** Leading `--name=value` flags (`--from=build`, `--platform=$BUILDPLATFORM`, `--interval=30s`). */
  flags: Record<string, string>
  /** What follows the keyword and its flags, continuations joined. */
  rest: string
  /** The index of the stage (FROM) it belongs to; -1 before the first FROM. */
  stage: number
}

export interface Stage {
  /** The image it starts from (`node:24.20.0-bookworm-slim`, or an earlier stage's name). */
  from: string
  name: string | undefined
  instructions: Instruction[]
}

export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = []
  let stage = -1
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    // Comment lines go, inside a continued instruction too.
    if (/^\s*#/.test(line)) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const whole = (pending + line).trim()
    pending = ''
    if (!whole) continue
    const match = /^(\w+)\s*(.*)$/s.exec(whole)
    if (!match?.[1]) throw new Error(`cannot read the Dockerfile line "${whole}"`)
    const keyword = match[1].toUpperCase()
    let rest = match[2] ?? ''
    const flags: Record<string, string> = {}
    for (
      let flag = /^--([\w-]+)=(\S+)\s*/.exec(rest);
      flag;
      flag = /^--([\w-]+)=(\S+)\s*/.exec(rest)
    ) {
      flags[flag[1] as string] = flag[2] as string
      rest = rest.slice(flag[0].length)
    }
    if (keyword === 'FROM') stage += 1
    instructions.push({ keyword, flags, rest: rest.trim(), stage })
  }
  return instructions
}

export function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [from, as, name] = instruction.rest.split(/\s+/)
      stages.push({
        from: from as string,
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
      })
    }
    stages[instruction.stage]?.instructions.push(instruction)
  }
  return stages
}

/** An exec-form argument list (`["node", "-e", "…"]`); throws on the shell form, which a test should not accept. */
export function execForm(instruction: Instruction): string[] {
  const json =
    instruction.keyword === 'HEALTHCHECK'
      ? instruction.rest.replace(/^CMD\s+/, '')
      : instruction.rest
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    throw new Error(`${instruction.keyword} ${instruction.rest} is not in exec form (a JSON array)`)
  }
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`${instruction.keyword} ${instruction.rest} is not an array of strings`)
  }
  return parsed
}

/** KEY=value pairs, as ENV, LABEL and ARG write them (double quotes allowed). */
export function keyValues(rest: string): Record<string, string> {
  const pairs: Record<string, string> = {}
  for (const match of rest.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = match[2] as string
    pairs[match[1] as string] = value.startsWith('"') ? (JSON.parse(value) as string) : value
  }
  return pairs
}

/** Every KEY=value that a stage's instructions of one kind set, later ones winning. */
export function collected(stage: Stage, keyword: 'ENV' | 'LABEL' | 'ARG'): Record<string, string> {
  return Object.assign(
    {},
    ...stage.instructions.filter((i) => i.keyword === keyword).map((i) => keyValues(i.rest)),
  )
}

/** The one instruction of a kind in a stage; throws when there is none or more than one. */
export function only(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword)
  if (found.length !== 1) {
    throw new Error(
      `the stage ${stage.name ?? stage.from} has ${found.length} ${keyword} instructions, not 1`,
    )
  }
  return found[0] as Instruction
}
