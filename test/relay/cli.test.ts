import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CLI } from './relay-process.js'

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../hookchain.yml', import.meta.url))
const UNSET_VARIABLE = 'HOOKCHAIN_CLI_TEST_UNSET_VARIABLE'

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  /** Whether it said it was listening (and was then stopped by the test). */
  listened: boolean
}

/**
 * Runs `hookchain-relay ARGS` from the TypeScript sources until it exits. Its environment holds
 * nothing the config files could read, so that the shell running the tests does not change their
 * outcome. A relay that starts listening is stopped at once, so that the test fails instead of hanging.
 */
function runCli(args: string[]): Promise<CliRun> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let listened = false
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8')
    if (!listened && /listening on/.test(stdout)) {
      listened = true
      child.kill()
    }
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill()
      reject(
        new Error(
          `hookchain-relay ${args.join(' ')} did not exit within 15 s:\n${stdout}${stderr}`,
        ),
      )
    }, 15_000)
    child.on('error', reject)
    // 'close', not 'exit': all of its output has been read by then.
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr, listened })
    })
  })
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '')

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-cli-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hookchain-relay check', () => {
  it('accepts the example hookchain.yml and prints the OK line', async () => {
    const example = parse(readFileSync(EXAMPLE_CONFIG, 'utf8')) as {
      chains: unknown[]
      sources: Record<string, unknown>
    }
    expect(example.chains.length).toBeGreaterThan(0)

    const result = await runCli(['check', '--config', EXAMPLE_CONFIG])

    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const output = lines(result.stdout)
    expect(output.at(-1)).toBe(
      `${EXAMPLE_CONFIG}: OK (${example.chains.length} chain(s), sources: ${Object.keys(example.sources).join(', ')})`,
    )
    // Everything before the OK line is a warning.
    for (const line of output.slice(0, -1)) expect(line).toMatch(`${EXAMPLE_CONFIG}: warning: `)
  })

  describe('a file that does not exist or is not YAML', () => {
    let missing: string
    let notYaml: string
    let runs: { missing: CliRun; notYaml: CliRun }
    beforeAll(async () => {
      missing = join(dir, 'missing.yml')
      notYaml = join(dir, 'not-yaml.yml')
      writeFileSync(notYaml, 'a: b: c\n')
      const [a, b] = await Promise.all([
        runCli(['check', '--config', missing]),
        runCli(['check', '--config', notYaml]),
      ])
      runs = { missing: a, notYaml: b }
    })

    it('says a missing file cannot be read, on one line, and exits with 1', () => {
      const { code, stdout, stderr } = runs.missing
      expect(code).toBe(1)
      expect(stdout).toBe('')
      const [problem, ...rest] = lines(stderr)
      expect(problem).toMatch(
        new RegExp(`^${escapeRegExp(missing)}: cannot be read: ENOENT: no such file or directory`),
      )
      expect(rest).toEqual([`${missing}: 1 problem(s); the relay does not start with this config.`])
    })

    it('gives the line and column of a YAML syntax error, on one line, and exits with 1', () => {
      const { code, stdout, stderr } = runs.notYaml
      expect(code).toBe(1)
      expect(stdout).toBe('')
      const [problem, ...rest] = lines(stderr)
      expect(problem).toMatch(
        new RegExp(`^${escapeRegExp(notYaml)}: line 1, column 4: \\S.*mapping`),
      )
      expect(rest).toEqual([`${notYaml}: 1 problem(s); the relay does not start with this config.`])
    })
  })
})

describe('a config with several problems', () => {
  let config: string
  let database: string
  let check: CliRun
  let serve: CliRun
  let expected: string[]

  beforeAll(async () => {
    config = join(dir, 'bad.yml')
    database = join(dir, 'relay.db')
    writeFileSync(
      config,
      `public_url: http://relay.test
admin_tokn: admin-token-0123456789abcdef
sources:
  dockerhub:
    secret: \${${UNSET_VARIABLE}}
chains:
  - name: release
    match: { repository: acme/app }
    step_timeout: 30
    steps:
      - dispatch: { repository: 42, event_type: deploy }
      - dispatch: { repository: acme/deploy }
`,
    )
    expected = [
      `${config}: admin_tokn: unknown key 'admin_tokn' (did you mean admin_token?)`,
      `${config}: sources.dockerhub.secret: environment variable ${UNSET_VARIABLE} is not set (or write \${${UNSET_VARIABLE}:-default})`,
      `${config}: chains[0].step_timeout: must be a duration such as 90s, 30m or 2h (a bare number has no unit)`,
      `${config}: chains[0].steps[0].dispatch.repository: must be text, but YAML read 42 as a number: put the value in quotes`,
      `${config}: chains[0].steps[1].dispatch.event_type: is required`,
      `${config}: 5 problem(s); the relay does not start with this config.`,
    ]
    ;[check, serve] = await Promise.all([
      runCli(['check', '--config', config]),
      runCli([
        'serve',
        '--config',
        config,
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--database',
        `sqlite:${database}`,
      ]),
    ])
  })

  it('check lists every problem with its path and exits with 1', () => {
    expect(lines(check.stderr)).toEqual(expected)
    expect(check.stdout).toBe('')
    expect(check.code).toBe(1)
  })

  it('serve refuses it with the same messages, before listening or opening the database', () => {
    expect(serve.listened).toBe(false)
    expect(lines(serve.stderr)).toEqual(expected)
    expect(serve.stdout).toBe('')
    expect(serve.code).toBe(1)
    expect(existsSync(database)).toBe(false)
  })
})

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
