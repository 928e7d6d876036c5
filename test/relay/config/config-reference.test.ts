import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { biomeFormat } from '../../../scripts/biome-format.js'
import {
  CONFIG_REFERENCE_FILE,
  configReference,
} from '../../../src/relay/config/config-reference.js'
import { configSchema } from '../../../src/relay/config/schema.js'

const committed = () =>
  readFileSync(new URL(`../../../${CONFIG_REFERENCE_FILE}`, import.meta.url), 'utf8')

type Node = { properties?: Record<string, Node>; items?: Node; writeOnly?: boolean }

/** Every key of the schema as the reference writes it, with whether it is a secret. */
function schemaKeys(node: Node, prefix = ''): [string, boolean][] {
  return Object.entries(node.properties ?? {}).flatMap(([name, property]): [string, boolean][] => {
    const path = prefix ? `${prefix}.${name}` : name
    const below = property.items?.properties
      ? schemaKeys(property.items, `${path}[]`)
      : schemaKeys(property, path)
    return [[path, property.writeOnly === true], ...below]
  })
}

describe('docs/configuration.md', () => {
  it('is what scripts/write-config-schema.ts generates (run it after changing the schema or a source)', () => {
    expect(committed()).toBe(biomeFormat(configReference(), CONFIG_REFERENCE_FILE))
  })

  it('has a section for every key of the schema, secrets marked as such', () => {
    const reference = configReference()
    const keys = schemaKeys(configSchema as unknown as Node)
    expect(keys.length).toBeGreaterThan(30)
    for (const [path, secret] of keys) {
      const section = reference.split(`\`${path}\`\n\n`)[1]?.split('\n#')[0]
      expect(section, `no section for ${path}`).toBeDefined()
      expect(section).toMatch(/- Type: \S/)
      expect(section?.includes('**Secret**'), `${path} secret: ${secret}`).toBe(secret)
    }
  })

  it('gives defaults and constraints as the schema states them', () => {
    const reference = configReference()
    expect(reference).toContain(
      '| [`github.writes_per_minute`](#githubwrites_per_minute) | integer | no | `80` |  |',
    )
    expect(reference).toMatch(/`chains\[\]\.step_timeout`\n\n[^#]*- Default: `30m`/)
    expect(reference).toMatch(/`github`\n\n[^#]*- Not both `token` and `app`/)
    expect(reference).toMatch(
      /`chains\[\]\.steps`\n\n[^#]*- Each item: exactly one of `dispatch`, `webhook`/,
    )
    expect(reference).toMatch(/`sources\.dockerhub\.secret`\n\n[^#]*- At least 16 character\(s\)/)
  })
})
