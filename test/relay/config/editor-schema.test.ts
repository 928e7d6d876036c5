import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { editorSchema } from '../../../src/relay/config/editor-schema.js'
import { CONFIG_SCHEMA_FILE } from '../../../src/relay/config/schema.js'

const root = new URL('../../../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), 'utf8')

/** Validates raw YAML the way an editor does: before any `${NAME}` is substituted. */
function editorCheck() {
  const ajv = new Ajv({ allErrors: true, strict: false })
  return ajv.compile(editorSchema())
}

describe('the committed editor schema', () => {
  it('is what scripts/write-config-schema.ts generates (run it after changing schema.ts)', () => {
    expect(JSON.parse(read(CONFIG_SCHEMA_FILE))).toEqual(editorSchema())
  })

  it('is named by the modeline at the top of hookchain.yml', () => {
    expect(read('hookchain.yml').split('\n')[0]).toBe(
      `# yaml-language-server: $schema=./${CONFIG_SCHEMA_FILE}`,
    )
  })

  it('accepts the example hookchain.yml as written, variable references included', () => {
    const check = editorCheck()
    expect(check(parse(read('hookchain.yml'))), JSON.stringify(check.errors)).toBe(true)
  })

  it('flags typos and bad values the relay would reject', () => {
    const check = editorCheck()
    const config = parse(read('hookchain.yml'))
    config.chains[0].step_timout = '5m'
    config.chains[1].steps[0].dispatch.repository = 'no-owner'
    expect(check(config)).toBe(false)
    expect(check.errors?.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/chains/0', '/chains/1/steps/0/dispatch/repository']),
    )
  })

  it('gives every property a title and a description for completion and hover', () => {
    const missing: string[] = []
    type Node = {
      properties?: Record<string, Node>
      items?: Node
      title?: string
      description?: string
    }
    const visit = (schema: Node, path: string) => {
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        if (!property.title || !property.description) missing.push(`${path}${name}`)
        visit(property, `${path}${name}.`)
        if (property.items) visit(property.items, `${path}${name}[].`)
      }
    }
    visit(editorSchema() as Node, '')
    expect(missing).toEqual([])
  })
})
