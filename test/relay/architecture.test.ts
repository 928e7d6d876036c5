import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(import.meta.dirname, '../..')

/**
 * The relay's folders, from the bottom up: each may import only from those before it. The files
 * at the top of src/relay are leaves (ids, logger, metrics), but for main.ts and cli.ts, which wire
 * everything together with the CLI's commands (commands/).
 */
const LAYERS = [
  'shared',
  'leaf',
  'identity',
  'sources',
  'model',
  'config',
  'store',
  'runs',
  'deliverers',
  'outbox',
  'ui',
  'http',
  'wiring',
] as const

function layerOf(file: string): string {
  const path = relative(root, file)
  if (path.startsWith('src/shared/')) return 'shared'
  const inRelay = path.slice('src/relay/'.length)
  if (!inRelay.includes('/')) return ['main.ts', 'cli.ts'].includes(inRelay) ? 'wiring' : 'leaf'
  if (inRelay.startsWith('commands/')) return 'wiring'
  return inRelay.split('/')[0] ?? ''
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  )
}

/** Every relative import of the relay's sources: [importing file, imported file]. */
function imports(): [string, string][] {
  return sourceFiles(join(root, 'src/relay')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map(
      (match): [string, string] => [file, normalize(join(dirname(file), match[1] ?? ''))],
    ),
  )
}

describe("the relay's folders", () => {
  it('each belong to a layer', () => {
    const folders = new Set(sourceFiles(join(root, 'src/relay')).map(layerOf))
    expect([...folders].filter((f) => !(LAYERS as readonly string[]).includes(f))).toEqual([])
  })

  it('import only from the layers below them, so no two folders import each other', () => {
    const upward = imports()
      .filter(([from, to]) => {
        const [a, b] = [layerOf(from), layerOf(to)]
        return a !== b && LAYERS.indexOf(b as never) >= LAYERS.indexOf(a as never)
      })
      .map(([from, to]) => `${relative(root, from)} imports ${relative(root, to)}`)
    expect(upward).toEqual([])
  })

  it('leave the network to the outbox and the HTTP layer: sources and runs import no HTTP client', () => {
    const network =
      /^import (?!type )[^'"]*['"](node:https?|node:net|pg|undici|@octokit\/[^'"]+)['"]/m
    const offenders = sourceFiles(join(root, 'src/relay'))
      .filter((file) => ['sources', 'runs', 'model'].includes(layerOf(file)))
      .filter((file) => network.test(readFileSync(file, 'utf8')))
      .map((file) => relative(root, file))
    expect(offenders).toEqual([])
  })
})
