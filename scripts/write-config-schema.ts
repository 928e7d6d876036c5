/**
 * Writes what is generated from the config schema in src/relay/config/schema.ts, formatted as
 * Biome would: schemas/hookchain.schema.json, the schema for editors (hookchain.yml names it in
 * its yaml-language-server modeline), and docs/configuration.md, the reference of every key.
 * Tests fail when either is stale.
 * Run: npx tsx scripts/write-config-schema.ts
 */
import { writeFileSync } from 'node:fs'
import { CONFIG_REFERENCE_FILE, configReference } from '../src/relay/config/config-reference.js'
import { editorSchema } from '../src/relay/config/editor-schema.js'
import { CONFIG_SCHEMA_FILE } from '../src/relay/config/schema.js'
import { biomeFormat } from './biome-format.js'

const files: [string, string][] = [
  [CONFIG_SCHEMA_FILE, `${JSON.stringify(editorSchema(), null, 2)}\n`],
  [CONFIG_REFERENCE_FILE, configReference()],
]
for (const [file, text] of files) {
  writeFileSync(new URL(`../${file}`, import.meta.url), biomeFormat(text, file))
  console.log(`wrote ${file}`)
}
