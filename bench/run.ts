// `npm run bench`: runs every bench/*.bench.ts module, one after the other so that they do not
// disturb each other's timings, and prints one Markdown table of all their rows.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { getErrorMessage } from '../src/shared/errors.js'
import { type BenchRow, describeMachine, formatTable } from './table.js'

interface BenchModule {
  run(): Promise<BenchRow[]>
}

const dir = import.meta.dirname
const only = process.argv.slice(2)
const modules = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts'))
  .filter((file) => only.length === 0 || only.some((name) => file.startsWith(name)))
  .sort()

const rows: BenchRow[] = []
const failures: string[] = []
for (const file of modules) {
  process.stderr.write(`Running bench/${file}…\n`)
  try {
    const module = (await import(pathToFileURL(join(dir, file)).href)) as BenchModule
    rows.push(...(await module.run()))
  } catch (error) {
    failures.push(`bench/${file}: ${getErrorMessage(error)}`)
  }
}

console.log(describeMachine())
console.log()
console.log(formatTable(rows))
if (failures.length > 0) {
  console.error(`\n${failures.join('\n')}`)
  process.exitCode = 1
}
