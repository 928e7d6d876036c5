/**
 * Writes schemas/hookchain.schema.json, the config schema for editors (hookchain.yml names it in
 * its yaml-language-server modeline), from src/relay/config/schema.ts, formatted as Biome would.
 * Run: npx tsx scripts/write-config-schema.ts
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
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
