import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { nodeCommand, startScript } from './node-command.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const start = nodeCommand(startScript(join(ROOT, 'package.json')))

describe("Node's options, wherever they are written out", () => {
  it.each(['Dockerfile', 'docs/deploy.md', 'README.md'])(
    "%s gives only the start script's",
    (file) => {
      const written = readFileSync(join(ROOT, file), 'utf8').match(/--(max|min)-[\w-]+=\d+/g) ?? []
      expect(written.length, `${file} names no Node option`).toBeGreaterThan(0)
      for (const option of written) expect(start.options).toContain(option)
    },
  )
})
