// The README's quick start, run as written: its commands are read from the README, so that the
// test fails when they stop working. Only the port changes (the relay and the step receiver take
// free ones), and CALLBACK_URL is set as the reader sets it, from what the receiver printed.
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RelayProcess, spawnRelay } from '../relay/relay-process.js'
import { freePort } from '../support/free-port.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README_PORT = 'localhost:8080'
const RECEIVER_PORT = 'localhost:9000'

/** The shell commands of the README's quick start, in order: continued lines joined, comments dropped. */
function quickStartCommands(readme: string): string[] {
  const start = readme.indexOf('\n## Quick start')
  if (start < 0) throw new Error('the README has no "## Quick start" section')
  const end = readme.indexOf('\n## ', start + 1)
  const section = readme.slice(start, end < 0 ? undefined : end)
  const blocks = [...section.matchAll(/^ *```sh\n([\s\S]*?)^ *```$/gm)].map((m) => m[1] ?? '')
  return blocks.flatMap((block) =>
    block
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  )
}

function bash(command: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      ['-c', command],
      { cwd: ROOT, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${command}\nfailed: ${error.message}\n${stdout}${stderr}`))
          : resolve(stdout),
    )
  })
}

async function until<T>(find: () => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = find()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

const commands = quickStartCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'))

describe("the README's quick start", () => {
  let dir: string
  let relay: RelayProcess
  let receiver: ChildProcess
  let received = ''
  let relayAddress: string

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-quick-start-'))
    const receiverPort = await freePort()
    const [receiverCommand] = commands.filter((c) => c.startsWith('node '))
    if (!receiverCommand) throw new Error('the quick start starts no step receiver')
    const [node, ...args] = receiverCommand.split(' ')
    expect(node).toBe('node')
    receiver = spawn(process.execPath, [...args, String(receiverPort)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    receiver.stdout?.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8')
    })
    await until(
      () => (received.includes('Waiting for webhook steps') ? true : undefined),
      'the step receiver',
    )
    // The example config, as `npm start` reads it; the steps' receiver is on its free port.
    relay = await spawnRelay(
      ['--config', join(ROOT, 'hookchain.yml'), '--database', `sqlite:${join(dir, 'relay.db')}`],
      {
        STEP_RECEIVER_URL: `http://${RECEIVER_PORT.replace('9000', String(receiverPort))}`,
      },
    )
    relayAddress = `localhost:${new URL(relay.url).port}`
  })
  afterAll(() => {
    relay?.child.kill('SIGKILL')
    receiver?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })

  const run = (command: string, env: Record<string, string> = {}) =>
    bash(command.replaceAll(README_PORT, relayAddress), env)
  const callbackUrls = () =>
    [...received.matchAll(/^CALLBACK_URL=(\S+)$/gm)].map((m) => m[1] as string)

  it('reads as a push, two callbacks and a look at the history, all with curl', () => {
    expect(commands.filter((c) => c.startsWith('curl'))).toEqual([
      expect.stringContaining('/hooks/dockerhub/'),
      expect.stringMatching(/^curl "\$CALLBACK_URL" .*"state": "success"/),
      expect.stringMatching(/^curl "\$CALLBACK_URL" .*"state": "success"/),
      expect.stringContaining('/api/runs'),
    ])
    expect(commands).toContain('node examples/step-receiver.mjs')
  })

  it('completes the quickstart chain with the commands as written', async () => {
    const [push, stepOne, stepTwo, history] = commands.filter((c) => c.startsWith('curl'))

    const pushed = await run(push as string)
    expect(pushed).toMatch(/^HTTP\/1\.1 202 Accepted/)
    expect(pushed).toContain('"outcome":"started"')

    const first = await until(() => callbackUrls()[0], 'the callback URL of step 1')
    expect(received).toContain(
      'docker.io/acme/hello:v1.0.0: step 1 of 2 of chain quickstart (/tests)',
    )
    expect(first).toMatch(new RegExp(`^http://${relayAddress}/callbacks/`))
    expect(JSON.parse(await run(stepOne as string, { CALLBACK_URL: first }))).toMatchObject({
      run: { chain: 'quickstart', state: 'running' },
      step: { index: 1, state: 'success', description: '12 tests passed' },
    })

    const second = await until(() => callbackUrls()[1], 'the callback URL of step 2')
    expect(received).toContain('step 2 of 2 of chain quickstart (/deploy)')
    expect(JSON.parse(await run(stepTwo as string, { CALLBACK_URL: second }))).toMatchObject({
      run: { chain: 'quickstart', state: 'success' },
      step: { index: 2, state: 'success', description: 'deployed' },
    })

    const { runs } = JSON.parse(await run(history as string)) as {
      runs: { chain: string; state: string }[]
    }
    expect(runs).toEqual([expect.objectContaining({ chain: 'quickstart', state: 'success' })])

    // "Open http://localhost:8080/": the history page shows the run.
    const page = await fetch(`http://${relayAddress}/`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('quickstart')
    expect(html).toContain('success')
  })
})
