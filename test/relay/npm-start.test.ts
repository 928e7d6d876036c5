// `npm start` as the README runs it: npm runs the script through `sh -c`, and dash (Debian's sh)
// stays as node's parent unless the script execs node; npm then passes SIGTERM and SIGINT on to
// the shell, which dies of it, and the relay lived on, orphaned, with its port taken.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

interface NpmStart {
  npm: ChildProcess
  output: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The relay's own process, from the `owner` of its "listening" line. */
  relayPid: number
}

/** `npm start` in the repository, on `port`, until the relay says it listens (compiling lib/ first if it is stale). */
async function npmStart(port: number, database: string): Promise<NpmStart> {
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), DATABASE_URL: database, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  npm.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  npm.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8')
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.on('exit', (code, signal) => resolve({ code, signal })),
  )
  const deadline = Date.now() + 120_000
  let relayPid: number | null = null
  while (relayPid === null) {
    const owner = /"owner":"[^"/]*\/(\d+)\/[^"]*","msg":"hookchain relay listening on/.exec(output)
    if (owner?.[1]) relayPid = Number(owner[1])
    else if (npm.exitCode !== null || Date.now() > deadline) {
      npm.kill('SIGKILL')
      throw new Error(`npm start did not start the relay:\n${output}`)
    } else await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { npm, output: () => output, exited, relayPid }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-npm-start-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'serves on PORT, and %s sent to npm stops the relay: exit 0, nothing left listening',
    { timeout: 180_000 },
    async (signal) => {
      const port = await freePort()
      const started = await npmStart(port, `sqlite:${join(dir, `${signal}.db`)}`)
      try {
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
        expect(ready.status).toBe(200)
        expect(await ready.json()).toEqual({ status: 'ready', database: 'sqlite' })

        started.npm.kill(signal)
        expect(await started.exited).toEqual({ code: 0, signal: null })
        expect(await listening(port)).toBe(false)
        expect(alive(started.relayPid), `the relay (pid ${started.relayPid}) outlived npm`).toBe(
          false,
        )
        expect(started.output()).toContain(
          `"msg":"${signal}: finishing the work in flight, then stopping"`,
        )
        expect(started.output()).toContain('"msg":"stopped"')
      } finally {
        if (alive(started.relayPid)) process.kill(started.relayPid, 'SIGKILL')
      }
    },
  )

  it('does not compile lib/ again when src/ has not changed since', {
    timeout: 180_000,
  }, async () => {
    const port = await freePort()
    const started = await npmStart(port, `sqlite:${join(dir, 'again.db')}`)
    started.npm.kill('SIGTERM')
    await started.exited
    expect(started.output()).not.toMatch(/Compiling lib|compiling lib/)
  })
})
