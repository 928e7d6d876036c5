import { type ChildProcess, execFile, spawn } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.js'
import {
  collected,
  execForm,
  type Instruction,
  only,
  parseDockerfile,
  type Stage,
  stagesOf,
} from './dockerfile.js'
import { nodeCommand, startScript } from './node-command.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const stages = stagesOf(parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')))
const runtime = stages.at(-1) as Stage
const imageEnv = collected(runtime, 'ENV')
const TINI = '/usr/bin/tini'
const entry = execForm(only(runtime, 'ENTRYPOINT'))
/** What `docker run IMAGE` runs: ENTRYPOINT, then CMD. */
const entrypoint = [...entry, ...execForm(only(runtime, 'CMD'))]
/**
 * The image's command as this machine can run it: under tini as the image does, or, where tini is
 * not installed (`apt-get install tini`; CI has it), the node command it wraps, signals and all.
 */
const launched = existsSync(TINI) ? entrypoint : entrypoint.slice(2)
const launchedEntry = existsSync(TINI) ? entry : entry.slice(2)
const start = nodeCommand(startScript(join(ROOT, 'package.json')))

function stageNamed(name: string): Stage {
  const stage = stages.find((s) => s.name === name)
  if (!stage) throw new Error(`the Dockerfile has no stage named ${name}`)
  return stage
}

function runs(stage: Stage): string[] {
  return stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.rest)
}

/** The stage a runtime COPY takes `path` from (`COPY --from=NAME /app/path ./path`). */
function copiedFrom(path: string): Stage {
  const copy = runtime.instructions.find(
    (i: Instruction) => i.keyword === 'COPY' && i.flags.from && i.rest.split(/\s+/)[0] === path,
  )
  if (!copy?.flags.from) throw new Error(`the runtime stage copies ${path} from no stage`)
  return stageNamed(copy.flags.from)
}

/** Whether the build context keeps `path`, by .dockerignore's rules as this repository writes them: `*` and `!name`. */
function inBuildContext(path: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  let kept = true
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!')
    const name = pattern.replace(/^!/, '').replace(/\/$/, '')
    if (name === '*' || name === path || path.startsWith(`${name}/`)) kept = negated
  }
  return kept
}

describe('the Dockerfile', () => {
  it("starts node with the start script's options, script and command", () => {
    expect(nodeCommand(entrypoint)).toEqual(start)
  })

  it('runs node under tini, which passes SIGTERM on, and takes tini from a build stage', () => {
    expect(entrypoint.slice(0, 2)).toEqual([TINI, '--'])
    const copy = runtime.instructions.find(
      (i) => i.keyword === 'COPY' && i.rest.split(/\s+/).at(-1) === TINI,
    )
    expect(copy?.flags.from, `no COPY --from=<stage> … ${TINI} in the runtime stage`).toBeTruthy()
    expect(runs(stageNamed(copy?.flags.from as string)).join('\n')).toMatch(
      /apt-get install .*\btini\b/,
    )
  })

  it('builds every stage from one Node image, pinned to a full version', () => {
    const names = new Set(stages.map((s) => s.name))
    const images = stages.map((s) => s.from).filter((from) => !names.has(from))
    expect(images.length).toBeGreaterThan(0)
    expect(new Set(images).size, `different Node images: ${images.join(', ')}`).toBe(1)
    expect(images[0]).toMatch(/^node:(20|24)\.\d+\.\d+-bookworm-slim$/)
  })

  it('runs as a user other than root', () => {
    const user = only(runtime, 'USER').rest
    expect(user).not.toMatch(/^(root|0)(:|$)/)
  })

  it('keeps the database in the /data volume and reads the config from /config', () => {
    expect(imageEnv.DATABASE_URL).toBe('sqlite:/data/hookchain.db')
    expect(imageEnv.HOOKCHAIN_CONFIG).toBe('/config/hookchain.yml')
    const volumes = execForm(only(runtime, 'VOLUME'))
    expect(volumes).toContain(
      posix.dirname((imageEnv.DATABASE_URL as string).slice('sqlite:'.length)),
    )
    expect(runs(runtime).join('\n'), 'the /data folder must belong to the image user').toMatch(
      /chown \S+ \/data/,
    )
  })

  it('compiles lib/ with the dev dependencies and ships the production ones only', () => {
    const build = copiedFrom('/app/lib')
    expect(runs(build)).toEqual(expect.arrayContaining([expect.stringMatching(/\bnpm ci\b/)]))
    expect(runs(build)).toContain('npm run build')
    const dependencies = copiedFrom('/app/node_modules')
    expect(runs(dependencies)).toEqual(
      expect.arrayContaining([expect.stringMatching(/\bnpm ci\b.*--omit=dev/)]),
    )
    expect(runs(dependencies).join('\n')).toMatch(/python3 make g\+\+/)
  })

  it('labels the image with the OCI annotations, from build arguments where they vary', () => {
    const labels = collected(runtime, 'LABEL')
    for (const key of ['source', 'revision', 'version', 'licenses', 'title', 'description']) {
      expect(labels[`org.opencontainers.image.${key}`], key).toBeTruthy()
    }
    const args = collected(runtime, 'ARG')
    for (const key of ['source', 'revision', 'version']) {
      const arg = /^\$\{(\w+)\}$/.exec(labels[`org.opencontainers.image.${key}`] as string)?.[1]
      expect(arg && arg in args, `org.opencontainers.image.${key} comes from no ARG`).toBe(true)
    }
    expect(labels['org.opencontainers.image.licenses']).toBe(
      (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { license: string }).license,
    )
  })

  it('sends the build every file it copies, and no secret, database or node_modules', () => {
    const copied = stages
      .flatMap((s) => s.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.flags.from)
      .flatMap((i) => i.rest.split(/\s+/).slice(0, -1))
    expect(copied.length).toBeGreaterThan(0)
    for (const path of copied) expect(inBuildContext(path), path).toBe(true)
    for (const path of ['.env', 'data/hookchain.db', 'node_modules', 'lib', '.git', 'test']) {
      expect(inBuildContext(path), path).toBe(false)
    }
  })

  it('is run in docs/deploy.md with the config and data where the image reads them', () => {
    const docs = readFileSync(join(ROOT, 'docs/deploy.md'), 'utf8')
    expect(docs).toContain(`:${imageEnv.HOOKCHAIN_CONFIG}:ro`)
    expect(docs).toContain('hookchain-data:/data')
  })
})

interface Exit {
  code: number | null
  stdout: string
  stderr: string
}

function run(command: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Exit> {
  return new Promise((resolve) => {
    execFile(
      command[0] as string,
      command.slice(1),
      { env, cwd, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe("the image's commands, run as the image runs them on a fresh build of lib/", () => {
  const folder = mkdtempSync(join(tmpdir(), 'hookchain-image-'))
  /** The image's paths, in the temporary folder. */
  const app = join(folder, 'app')
  const data = join(folder, 'data')
  const config = join(folder, 'config')
  const hookSecret = 'image-test-dockerhub-secret-0123'
  let port = 0
  let env: NodeJS.ProcessEnv = {}
  let relay: ChildProcess | undefined
  let exited: Promise<number | null> = Promise.resolve(null)
  let log = ''

  beforeAll(async () => {
    const workdir = only(runtime, 'WORKDIR').rest
    expect(workdir).toBe('/app')
    mkdirSync(app, { recursive: true })
    mkdirSync(data)
    mkdirSync(config)
    const build = await run(
      ['npm', 'run', '-s', 'build', '--', '--outDir', join(app, 'lib')],
      process.env,
      ROOT,
    )
    expect(build.code, `npm run build failed:\n${build.stdout}${build.stderr}`).toBe(0)
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'))
    copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'))
    copyFileSync(join(ROOT, 'hookchain.yml'), join(config, 'hookchain.yml'))

    port = await freePort()
    const inFolder = (value: string) =>
      value.replace(
        /(^|:)\/(data|config)\//,
        (_, lead: string, dir: string) => `${lead}${folder}/${dir}/`,
      )
    env = {
      ...Object.fromEntries(Object.entries(imageEnv).map(([k, v]) => [k, inFolder(v)])),
      PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
      // The only changes to the image's environment: a free port, on loopback only.
      PORT: String(port),
      HOST: '127.0.0.1',
      DOCKERHUB_SECRET: hookSecret,
    }
    relay = spawn(launched[0] as string, launched.slice(1), {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    relay.stdout?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8')
    })
    relay.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8')
    })
    const child = relay
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)))
    const deadline = Date.now() + 20_000
    for (;;) {
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
      if (ready) break
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`the relay did not answer /readyz within 20 s:\n${log}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }, 120_000)

  afterAll(() => {
    if (relay?.exitCode === null) relay.kill('SIGKILL')
    rmSync(folder, { recursive: true, force: true })
  })

  it('answers /readyz from its SQLite file in the data folder', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/readyz`)
    expect(await answer.json()).toEqual({ status: 'ready', database: 'sqlite' })
    expect(existsSync(join(data, 'hookchain.db'))).toBe(true)
  })

  it('takes a Docker Hub push with 202', async () => {
    const answer = await fetch(`http://127.0.0.1:${port}/hooks/dockerhub/${hookSecret}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: readFileSync(join(ROOT, 'test/fixtures/sources/dockerhub-push.json')),
    })
    expect(answer.status).toBe(202)
  })

  it('passes its HEALTHCHECK while the relay answers, and fails it where nothing listens', async () => {
    const healthcheck = execForm(only(runtime, 'HEALTHCHECK'))
    const passing = await run(healthcheck, env, app)
    expect(passing.code, passing.stderr).toBe(0)
    const failing = await run(healthcheck, { ...env, PORT: String(await freePort()) }, app)
    expect(failing.code).toBe(1)
  })

  it('exposes the port the relay listens on by default', async () => {
    const help = await run([...launchedEntry, '--help'], env, app)
    const defaultPort = /--port\b.*\(default: \$PORT or (\d+)\)/.exec(help.stdout)?.[1]
    expect(defaultPort, `no default port in:\n${help.stdout}`).toBeDefined()
    expect(only(runtime, 'EXPOSE').rest.replace(/\/tcp$/, '')).toBe(defaultPort)
    expect(imageEnv.PORT).toBe(defaultPort)
  })

  it('checks the config with the same image (docker run … check)', async () => {
    const check = await run([...launchedEntry, 'check'], env, app)
    expect(check.code, check.stderr).toBe(0)
    expect(check.stdout).toContain(`${join(config, 'hookchain.yml')}: OK`)
  })

  it('stops with status 0 when sent SIGTERM (through tini where it is installed), as docker stop does', async () => {
    relay?.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(log).toContain('SIGTERM: finishing the work in flight, then stopping')
  })
})
