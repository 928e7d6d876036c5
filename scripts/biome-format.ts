import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** `text` as Biome formats a file at `path` (relative to the repository root): what `npm run lint` expects. */
export function biomeFormat(text: string, path: string): string {
  return execFileSync('npx', ['biome', 'format', `--stdin-file-path=${path}`], {
    cwd: root,
    input: text,
    encoding: 'utf8',
  })
}
