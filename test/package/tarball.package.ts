// The relay as an npm package: `npm pack` in the repository, then, in an empty folder,
// `npm install --omit=dev <tarball>` and `npx hookchain-relay serve`, as docs/deploy.md tells users.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
}

function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(' ')} failed:\n${stdout}${stderr}`))
        : resolve(stdout),
    )
  })
}

let dir: string
let app: string
let tarball: string
let packed: string[]

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-package-'))
  app = join(dir, 'app')
  mkdirSync(app)
  const [pack] = JSON.parse(
    await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT),
  ) as {
    filename: string
    files: { path: string }[]
  }[]
  if (!pack) throw new Error('npm pack wrote no tarball')
  tarball = join(dir, pack.filename)
  packed = pack.files.map((file) => file.path)
  await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', tarball], app)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('npm pack', () => {
  it('packs the compiled relay, its example config, schema and API description, and no sources', () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        'package.json',
        'lib/relay/cli.js',
        'lib/relay/store/sqlite-worker.js',
        'hookchain.yml',
        'schemas/hookchain.schema.json',
        'openapi.yaml',
        'CHANGELOG.md',
        'README.md',
        'LICENSE',
      ]),
    )
    const unwanted = packed.filter((path) => /^(src|test|dist|scripts|bench)\/|\.ts$/.test(path))
    expect(unwanted).toEqual([])
  })
})

describe('the tarball, installed with --omit=dev in an empty folder', () => {
  it('brings no dev dependency: no TypeScript, no test tools, none of the Action’s packages', () => {
    const modules = join(app, 'node_modules')
    expect(existsSync(join(modules, 'hookchain/lib/relay/cli.js'))).toBe(true)
    for (const dev of [
      'typescript',
      'tsx',
      'vitest',
      '@biomejs',
      '@actions',
      'fast-xml-parser',
      'esbuild',
    ]) {
      expect(existsSync(join(modules, dev)), `${dev} was installed`).toBe(false)
    }
  })

  it('answers npx hookchain-relay --version', async () => {
    expect(await run('npx', ['hookchain-relay', '--version'], app)).toBe(`${version}\n`)
  })

  it('runs as npx hookchain-relay serve on SQLite: ready, and stopped by SIGTERM with 0', async () => {
    const port = await freePort()
    const npx: ChildProcess = spawn(
      'npx',
      [
        'hookchain-relay',
        'serve',
        '--config',
        'node_modules/hookchain/hookchain.yml',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--database',
        `sqlite:${join(dir, 'relay.db')}`,
      ],
      { cwd: app, env: { ...process.env, LOG_FORMAT: 'json' }, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let output = ''
    npx.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    npx.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    const exited = new Promise<number | null>((resolve) => npx.on('exit', (code) => resolve(code)))
    let relayPid = 0
    const deadline = Date.now() + 30_000
    while (!relayPid) {
      const owner = /"owner":"[^"/]*\/(\d+)\/[^"]*","msg":"hookchain relay listening on/.exec(
        output,
      )
      if (owner?.[1]) relayPid = Number(owner[1])
      else if (npx.exitCode !== null || Date.now() > deadline) {
        npx.kill('SIGKILL')
        throw new Error(`npx hookchain-relay serve did not listen:\n${output}`)
      } else await new Promise((resolve) => setTimeout(resolve, 50))
    }
    try {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
      expect(await ready.json()).toEqual({ status: 'ready', database: 'sqlite' })
      // npx runs the bin through `sh -c`, which would die of the signal and leave the relay
      // running: a supervisor signals the relay itself (see docs/deploy.md).
      process.kill(relayPid, 'SIGTERM')
      expect(await exited).toBe(0)
      expect(output).toContain('"msg":"stopped"')
    } finally {
      try {
        process.kill(relayPid, 'SIGKILL')
      } catch {}
    }
  })
})
