import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { namedCodeBlock } from './markdown-blocks.js'
import { nodeCommand, startScript } from './node-command.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const unit = namedCodeBlock(readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8'), 'hookchain.service')

/** Every `Key=value` of a section, in order (a key may come more than once). */
function section(name: string): [string, string][] {
  const entries: [string, string][] = []
  let current = ''
  for (const line of unit.body.split('\n')) {
    const heading = /^\[(\w+)\]$/.exec(line.trim())
    if (heading) current = heading[1] as string
    else if (current === name && /^\w+=/.test(line)) {
      const equals = line.indexOf('=')
      entries.push([line.slice(0, equals), line.slice(equals + 1)])
    }
  }
  return entries
}

const service = section('Service')
const value = (key: string) => service.filter(([k]) => k === key).map(([, v]) => v)
const one = (key: string) => {
  const values = value(key)
  if (values.length !== 1) throw new Error(`the unit has ${values.length} ${key}= lines, not 1`)
  return values[0] as string
}
const environment = Object.fromEntries(
  value('Environment').map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]),
)

function systemdAnalyze(): string | undefined {
  return ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((path) => existsSync(path))
}

describe('the systemd unit in docs/deploy.md', () => {
  it('is an ini block', () => {
    expect(unit.language).toBe('ini')
  })

  it("starts node with the start script's options and command, on the installed package's CLI", () => {
    const start = nodeCommand(startScript(join(ROOT, 'package.json')))
    const exec = nodeCommand(one('ExecStart').split(/\s+/))
    expect(exec.options).toEqual(start.options)
    expect(exec.args).toEqual(start.args)
    expect(exec.script.endsWith(`/node_modules/hookchain/${start.script}`)).toBe(true)
  })

  it('restarts the relay whenever it exits, as its store failure expects', () => {
    expect(one('Restart')).toBe('always')
  })

  it('runs as a user of its own, with secrets from a file', () => {
    expect(one('User')).not.toMatch(/^(root|0)$/)
    expect(value('EnvironmentFile').length).toBe(1)
  })

  it('can write only the folder that holds its database', () => {
    expect(one('ProtectSystem')).toBe('strict')
    expect(one('NoNewPrivileges')).toBe('yes')
    const database = environment.DATABASE_URL as string
    expect(database).toMatch(/^sqlite:\//)
    expect(one('ReadWritePaths')).toBe(posix.dirname(database.slice('sqlite:'.length)))
    expect(one('WorkingDirectory')).toBe(one('ReadWritePaths'))
    expect(environment.HOOKCHAIN_CONFIG).toMatch(/^\/etc\//)
    // V8 writes the machine code it compiles: the relay would not start.
    expect(value('MemoryDenyWriteExecute')).toEqual([])
  })

  describe.skipIf(!systemdAnalyze())('systemd-analyze verify', () => {
    const folder = mkdtempSync(join(tmpdir(), 'hookchain-unit-'))
    afterAll(() => rmSync(folder, { recursive: true, force: true }))

    it('finds nothing to say about it', async () => {
      let text = unit.body
      // The unit names /usr/bin/node; verify checks that it exists, so use this machine's node.
      if (!existsSync('/usr/bin/node')) text = text.replace('/usr/bin/node', process.execPath)
      const file = join(folder, 'hookchain.service')
      writeFileSync(file, text)
      const output = await new Promise<{ code: number; text: string }>((resolve) => {
        execFile(systemdAnalyze() as string, ['verify', file], (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, text: `${stdout}${stderr}` })
        })
      })
      expect(output.code, output.text).toBe(0)
      // verify only warns (status 0) about an unknown key or a value it cannot parse.
      expect(output.text.split('\n').filter((line) => line.includes('hookchain.service'))).toEqual(
        [],
      )
    })
  })
})
