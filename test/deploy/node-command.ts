import { readFileSync } from 'node:fs'

export interface NodeCommand {
  /** Node's own options, before the script. */
  options: string[]
  script: string
  /** The script's arguments. */
  args: string[]
}

/** Splits `[…wrappers] node [options] script [args]` (a wrapper such as `tini --` comes before node). */
export function nodeCommand(argv: string[]): NodeCommand {
  const node = argv.findIndex((arg) => arg === 'node' || arg.endsWith('/node'))
  if (node < 0) throw new Error(`no node in the command ${JSON.stringify(argv)}`)
  const after = argv.slice(node + 1)
  const script = after.findIndex((arg) => !arg.startsWith('-'))
  if (script < 0) throw new Error(`no script after node in ${JSON.stringify(argv)}`)
  return {
    options: after.slice(0, script),
    script: after[script] as string,
    args: after.slice(script + 1),
  }
}

/** The `start` script of package.json, as an argument list (it has no quoting to undo). */
export function startScript(packageJson: string): string[] {
  const start = (
    JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts: Record<string, string> }
  ).scripts.start
  if (!start) throw new Error(`${packageJson} has no start script`)
  if (/["'$`\\&|;]/.test(start)) {
    throw new Error(`the start script "${start}" has shell syntax these tests do not read`)
  }
  return start.trim().split(/\s+/)
}
