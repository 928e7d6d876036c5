import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, type ClientRequest, createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { CLI, logLines, type RelayProcess, spawnRelay } from './relay-process.js'

const EXAMPLE_CONFIG = fileURLToPath(new URL('../../hookchain.yml', import.meta.url))
const UNSET_VARIABLE = 'HOOKCHAIN_CLI_TEST_UNSET_VARIABLE'

interface CliRun {
  code: number | null
  stdout: string
  stderr: string
  /** Whether it said it was listening (and was then stopped by the test). */
  listened: boolean
  /** Milliseconds from its first line of output to its exit: the time it took once loaded. */
  lastedAfterOutput: number | null
}

/**
 * Runs `hookchain-relay ARGS` from the TypeScript sources until it exits. Its environment holds
 * nothing the config files could read, so that the shell running the tests does not change their
 * outcome. A relay that starts listening is stopped at once, so that the test fails instead of hanging.
 */
function runCli(args: string[], extraEnv: Record<string, string> = {}): Promise<CliRun> {
  const env: Record<string, string> = {}
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let listened = false
  let firstOutputAt: number | null = null
  child.stdout.on('data', (chunk: Buffer) => {
    firstOutputAt ??= Date.now()
    stdout += chunk.toString('utf8')
    if (!listened && /listening on/.test(stdout)) {
      listened = true
      child.kill()
    }
  })
  child.stderr.on('data', (chunk: Buffer) => {
    firstOutputAt ??= Date.now()
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
      const lastedAfterOutput = firstOutputAt === null ? null : Date.now() - firstOutputAt
      resolve({ code, stdout, stderr, listened, lastedAfterOutput })
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

interface Answer {
  status: number
  connection: string | undefined
  body: string
}

/** The answer to a request already under way. */
function answerOf(request: ClientRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request.on('error', reject)
    request.on('response', (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          connection: response.headers.connection,
          body,
        }),
      )
    })
  })
}

/** One request through `agent`, which may keep its connection open. */
function request(agent: Agent, base: string, method: string, path: string): Promise<Answer> {
  const { hostname, port } = new URL(base)
  const sent = httpRequest({ host: hostname, port, agent, method, path })
  const answer = answerOf(sent)
  sent.end()
  return answer
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the condition did not hold in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

describe('hookchain-relay without a command, or with a wrong one', () => {
  const version = (
    JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
  ).version

  it('--version prints the version of the package', async () => {
    const result = await runCli(['--version'])
    expect([result.code, result.stdout, result.stderr]).toEqual([0, `${version}\n`, ''])
  })

  it.each([['--help'], ['-h'], ['help'], ['serve', '--help']])(
    '%s prints the usage and exits with 0',
    async (...args) => {
      const result = await runCli(args)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe('')
      expect(result.stdout).toContain(`hookchain-relay ${version}`)
      for (const command of ['serve', 'check', 'init'])
        expect(result.stdout).toContain(`hookchain-relay ${command}`)
    },
  )

  it.each<[string, string[], string]>([
    ['no command', [], 'which command? (serve starts the relay)'],
    ['an unknown command', ['start'], 'unknown command "start"'],
    ['an unknown option', ['serve', '--prot', '8080'], "Unknown option '--prot'"],
    [
      'an option of another command',
      ['check', '--port', '8080'],
      '--port is not an option of check',
    ],
    [
      'an option without its value',
      ['serve', '--config'],
      "Option '--config <value>' argument missing",
    ],
    ['an extra argument', ['check', 'hookchain.yml'], 'check takes no argument "hookchain.yml"'],
  ])(
    '%s: says so with the usage on stderr, starts nothing and exits with 2',
    async (_name, args, message) => {
      const result = await runCli(args)
      expect(result.listened).toBe(false)
      expect(result.code).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain(`hookchain-relay: ${message}`)
      expect(result.stderr).toContain('Usage:\n  hookchain-relay serve')
    },
  )
})

describe('hookchain-relay serve, when it cannot start', () => {
  /** The example config warns before the relay starts: what comes after is the start itself. */
  const serveArgs = (database: string, port: number, host = '127.0.0.1') => [
    'serve',
    '--config',
    EXAMPLE_CONFIG,
    '--host',
    host,
    '--port',
    String(port),
    '--database',
    database,
  ]

  it('exits with 1 at once when its port is taken, and says which and what to do', async () => {
    const busy = createServer()
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    const { port } = busy.address() as AddressInfo
    try {
      const result = await runCli(serveArgs(`sqlite:${join(dir, 'busy.db')}`, port))
      expect(result.listened).toBe(false)
      expect(result.code).toBe(1)
      expect(lines(result.stderr)).toEqual([
        `hookchain-relay: cannot listen on 127.0.0.1:${port}: another program already listens there; stop it, or choose another port (--port or PORT) (EADDRINUSE)`,
      ])
      expect(result.lastedAfterOutput).toBeLessThan(2_000)
    } finally {
      busy.close()
    }
  })

  it('exits with 1 at once on an address that is not this machine’s', async () => {
    const result = await runCli(serveArgs(`sqlite:${join(dir, 'address.db')}`, 0, '192.0.2.1'))
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(
      'cannot listen on 192.0.2.1:0: no network interface of this machine has the address 192.0.2.1',
    )
    expect(result.lastedAfterOutput).toBeLessThan(2_000)
  })

  it.each<[string, () => string, string]>([
    [
      'a file that is not a database',
      () => {
        const file = join(dir, 'not-a-database.db')
        writeFileSync(file, 'these bytes are not SQLite\n'.repeat(200))
        return file
      },
      'file is not a database',
    ],
    ['a folder', () => dir, 'unable to open database file'],
  ])('exits with 1 at once when the database is %s, naming it', async (_name, path, why) => {
    const database = `sqlite:${path()}`
    const result = await runCli(serveArgs(database, 0))
    expect(result.listened).toBe(false)
    expect(result.code).toBe(1)
    expect(lines(result.stderr)).toEqual([
      `hookchain-relay: cannot open the database ${database}: ${why} (set by --database or DATABASE_URL)`,
    ])
    expect(result.lastedAfterOutput).toBeLessThan(2_000)
  })

  it('refuses a LOG_FORMAT it does not know, before starting', async () => {
    const result = await runCli(serveArgs(`sqlite:${join(dir, 'format.db')}`, 0), {
      LOG_FORMAT: 'xml',
    })
    expect(result.code).toBe(2)
    expect(result.stderr).toBe('hookchain-relay: LOG_FORMAT must be json or pretty, not "xml"\n')
  })
})

describe('hookchain-relay serve, running', () => {
  let relay: RelayProcess
  let database: string
  beforeAll(async () => {
    database = join(dir, 'running.db')
    relay = await spawnRelay(['--config', EXAMPLE_CONFIG, '--database', `sqlite:${database}`])
  })
  afterAll(() => {
    relay.child.kill('SIGKILL')
  })

  it('hands out callback URLs on its own address when public_url is not set', () => {
    const listening = logLines(relay).find((line) => String(line.msg).includes('listening on'))
    const port = new URL(relay.url).port
    expect(listening).toMatchObject({ url: relay.url, publicUrl: `http://localhost:${port}` })
  })

  it('on SIGTERM, stops taking connections, finishes the request in flight, closes a kept-alive connection and exits with 0', async () => {
    const { hostname, port } = new URL(relay.url)
    const agent = new Agent({ keepAlive: true })
    const get = await request(agent, relay.url, 'GET', '/healthz')
    expect(get.status).toBe(200)
    expect(agent.freeSockets).not.toEqual({}) // the connection stays open for the next request

    // A push whose headers are in, and whose body is still on its way, when SIGTERM comes.
    const push = JSON.stringify({
      push_data: { tag: 'v9.9.9', pushed_at: 1 },
      repository: { repo_name: 'acme/app' },
    })
    const inFlight = httpRequest({
      host: hostname,
      port,
      agent,
      method: 'POST',
      path: '/hooks/dockerhub/local-dockerhub-secret-change-me',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(push) },
    })
    const answered = answerOf(inFlight)
    inFlight.flushHeaders()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const signalled = Date.now()
    relay.child.kill('SIGTERM')
    await until(() => logLines(relay).some((line) => String(line.msg).startsWith('SIGTERM')))

    await expect(fetch(`${relay.url}/healthz`)).rejects.toThrow()
    inFlight.end(push)
    const answer = await answered
    expect(answer.status).toBe(202)
    expect(answer.connection).toBe('close')
    expect(JSON.parse(answer.body)).toMatchObject({ outcome: 'started', duplicate: false })

    expect(await relay.exited).toBe(0)
    expect(Date.now() - signalled).toBeLessThan(5_000)
    expect(logLines(relay).map((line) => line.msg)).toContain('stopped')
    agent.destroy()
  })
})

describe('hookchain-relay serve, stopped by SIGINT', () => {
  it('takes a second SIGINT at once (npm passes on the terminal’s) as the same one, and exits with 0', async () => {
    const relay = await spawnRelay([
      '--config',
      EXAMPLE_CONFIG,
      '--database',
      `sqlite:${join(dir, 'sigint.db')}`,
    ])
    relay.child.kill('SIGINT')
    relay.child.kill('SIGINT')
    expect(await relay.exited).toBe(0)
    expect(logLines(relay).filter((line) => String(line.msg).includes('SIGINT'))).toHaveLength(1)
  })
})

describe('hookchain-relay serve, with public_url on another port of this machine', () => {
  it('warns that callbacks would not reach it', async () => {
    const config = join(dir, 'other-port.yml')
    writeFileSync(config, readFileSync(EXAMPLE_CONFIG, 'utf8'))
    const relay = await spawnRelay(
      ['--config', config, '--database', `sqlite:${join(dir, 'other-port.db')}`],
      {
        HOOKCHAIN_PUBLIC_URL: 'http://localhost:1',
      },
    )
    relay.child.kill('SIGTERM')
    await relay.exited
    const port = new URL(relay.url).port
    expect(logLines(relay)).toContainEqual(
      expect.objectContaining({
        level: 40,
        msg: `public_url http://localhost:1 names port 1 of this machine, but the relay listens on port ${port}: callbacks to it would not reach the relay; set public_url to http://localhost:${port}, or leave it out`,
      }),
    )
  })
})

describe('LOG_FORMAT', () => {
  const serve = (name: string) => [
    'serve',
    '--config',
    EXAMPLE_CONFIG,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--database',
    `sqlite:${join(dir, `${name}.db`)}`,
  ]

  it('pretty: readable lines, with the level and the message, instead of JSON', async () => {
    const result = await runCli(serve('pretty'), { LOG_FORMAT: 'pretty' })
    expect(result.listened).toBe(true)
    const output = lines(result.stdout)
    expect(output.length).toBeGreaterThan(1)
    for (const line of output) expect(() => JSON.parse(line)).toThrow()
    expect(output).toContainEqual(
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: admin_token is not set/),
    )
    expect(output).toContainEqual(
      expect.stringMatching(
        /^\[[\d:.]+\] INFO: hookchain relay listening on http:\/\/127\.0\.0\.1:\d+ /,
      ),
    )
  })

  it('unset: JSON lines when stdout is not a terminal', async () => {
    const result = await runCli(serve('json'))
    expect(result.listened).toBe(true)
    const output = lines(result.stdout).map((line) => JSON.parse(line) as { msg: string })
    expect(output.map((line) => line.msg)).toContainEqual(
      expect.stringMatching(/^hookchain relay listening on http:\/\/127\.0\.0\.1:\d+$/),
    )
  })
})
