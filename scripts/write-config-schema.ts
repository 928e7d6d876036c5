/**
 * Writes what is generated from the config schema in src/relay/config/schema.ts:
 * schemas/hookchain.schema.json, the schema for editors (hookchain.yml names it in its
 * yaml-language-server modeline), formatted as Biome would, and docs/configuration.md, the
 * reference of every key. Tests fail when either is stale.
 * Run: npx tsx scripts/write-config-schema.ts
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { CONFIG_REFERENCE_FILE, configReference } from '../src/relay/config/config-reference.js'
import { editorSchema } from '../src/relay/config/editor-schema.js'
import { CONFIG_SCHEMA_FILE } from '../src/relay/config/schema.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const formatted = execFileSync(
  'npx',
  ['biome', 'format', `--stdin-file-path=${CONFIG_SCHEMA_FILE}`],
  {
    cwd: root,
    input: `${JSON.stringify(editorSchema(), null, 2)}\n`,
    encoding: 'utf8',
  },
)
writeFileSync(new URL(`../${CONFIG_SCHEMA_FILE}`, import.meta.url), formatted)
console.log(`wrote ${CONFIG_SCHEMA_FILE}`)
writeFileSync(new URL(`../${CONFIG_REFERENCE_FILE}`, import.meta.url), configReference())
console.log(`wrote ${CONFIG_REFERENCE_FILE}`)
