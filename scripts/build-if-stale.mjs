// `npm start`'s prestart: compiles src/ to lib/ only when lib/ is missing or older than a source
// file or a tsconfig, so that a start after the first one compiles nothing. A failed build leaves
// lib/ marked stale (no lib/relay/cli.js), so the next start tries again rather than run it.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const entry = join(root, 'lib/relay/cli.js')

/** The newest modification time among the files the build reads. */
function newestInput() {
  let newest = 0
  const visit = (dir) => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, item.name)
      if (item.isDirectory()) visit(path)
      else newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  visit(join(root, 'src'))
  for (const file of ['tsconfig.json', 'tsconfig.build.json']) {
    newest = Math.max(newest, statSync(join(root, file)).mtimeMs)
  }
  return newest
}

if (existsSync(entry) && statSync(entry).mtimeMs >= newestInput()) process.exit(0)

let tsc
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
} catch {
  console.error(
    'lib/ is missing or older than src/, and TypeScript is not installed to compile it: run `npm ci` (with the dev dependencies), then `npm start` again.',
  )
  process.exit(1)
}
console.error(existsSync(entry) ? 'src/ changed: compiling lib/ …' : 'Compiling lib/ …')
const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
  cwd: root,
  stdio: 'inherit',
})
if (build.status !== 0) {
  rmSync(entry, { force: true })
  console.error('The build failed (see above); lib/ stays stale until it passes.')
  process.exit(build.status ?? 1)
}
