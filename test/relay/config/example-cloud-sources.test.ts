import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseSettings } from '../../../src/relay/config/load.js'

const example = readFileSync(new URL('../../../hookchain.yml', import.meta.url), 'utf8')

/** The example with the commented-out block of each source in `names` taken in. */
function uncommented(names: string[]): string {
  const lines = example.split('\n')
  let inBlock = false
  return lines
    .map((line) => {
      const start = /^ {2}# ([a-z]+):$/.exec(line)
      if (start) inBlock = names.includes(start[1] ?? '')
      else if (!/^ {2}# {3}\S/.test(line)) inBlock = false
      return inBlock ? line.replace(/^ {2}# /, '  ') : line
    })
    .join('\n')
}

describe('the commented-out cloud registry blocks of the example hookchain.yml', () => {
  it('load once uncommented, with no environment at all', () => {
    const text = uncommented(['acr', 'ecr', 'gar'])
    expect(text).not.toBe(example)
    const { sources } = parseSettings(text, { env: {}, baseDir: '.' })

    expect(sources.acr).toEqual({ token: 'local-acr-token-change-me' })
    expect(sources.ecr).toEqual({ token: 'local-ecr-token-change-me' })
    expect(sources.gar).toEqual({
      audience: 'https://relay.example.com/hooks/gar',
      serviceAccount: 'pubsub-push@my-project.iam.gserviceaccount.com',
      issuer: 'https://accounts.google.com',
    })
  })
})
