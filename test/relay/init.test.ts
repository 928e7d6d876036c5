import { execFile } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { fixture } from './relay-harness.js'
import { CLI, type RelayProcess, spawnRelay } from './relay-process.js'

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** `hookchain-relay ARGS`, from the TypeScript sources, with nothing of the test's environment but PATH and HOME. */
function hookchainRelay(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The webhooks `init` printed: title line, `URL:` line, `Header:` lines, notes. */
function printedWebhooks(
  stdout: string,
): Map<string, { url: string; headers: Record<string, string>; notes: string[] }> {
  const webhooks = new Map<
    string,
    { url: string; headers: Record<string, string>; notes: string[] }
  >()
  for (const block of stdout.split('\n\n')) {
    const [title, ...rest] = block.split('\n')
    const source = /\(sources\.(\w+);/.exec(title ?? '')?.[1]
    if (!source) continue
    const url =
      rest
        .find((l) => l.startsWith('  URL:'))
        ?.slice('  URL:'.length)
        .trim() ?? ''
    const headers = Object.fromEntries(
      rest
        .filter((l) => l.startsWith('  Header:'))
        .map((l) => {
          const [name = '', ...value] = l.slice('  Header:'.length).trim().split(': ')
          return [name, value.join(': ')]
        }),
    )
    const notes = rest.filter((l) => l.startsWith('  - ')).map((l) => l.slice(4))
    webhooks.set(source, { url, headers, notes })
  }
  return webhooks
}

/** The sources whose settings are all secrets, which init enables when no --source is given. */
const SECRET_ONLY = ['dockerhub', 'distribution', 'github', 'harbor', 'quay', 'gitea', 'acr', 'ecr']
SECRET_ONLY.push('cloudevents')

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-init-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('hookchain-relay init', () => {
  let config: string
  let first: Run
  beforeAll(async () => {
    config = join(dir, 'first', 'hookchain.yml')
    first = await hookchainRelay(['init', '--config', config])
  })

  it('writes a config that check accepts, readable by its owner only', async () => {
    expect(first.stderr).toBe('')
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(`Wrote ${config}`)
    expect(statSync(config).mode & 0o777).toBe(0o600)
    const check = await hookchainRelay(['check', '--config', config])
    expect(check.stderr).toBe('')
    expect(check.code).toBe(0)
    expect(check.stdout).toContain(`${config}: OK (1 chain(s), sources: ${SECRET_ONLY.join(', ')})`)
  })

  it('generates every secret afresh: 64 hex characters each, all different, none of the example’s', () => {
    const written = parse(readFileSync(config, 'utf8')) as {
      admin_token: string
      sources: Record<string, Record<string, string>>
    }
    const secrets = [written.admin_token, ...Object.values(written.sources).flatMap(Object.values)]
    expect(secrets).toHaveLength(1 + SECRET_ONLY.length)
    for (const secret of secrets) expect(secret).toMatch(/^[0-9a-f]{64}$/)
    expect(new Set(secrets).size).toBe(secrets.length)
    expect(readFileSync(config, 'utf8')).not.toContain('change-me')
  })

  it('prints, for each source, the URL and the header to set up, on the listening address by default', () => {
    const written = parse(readFileSync(config, 'utf8')) as {
      sources: Record<string, Record<string, string>>
    }
    const { dockerhub, distribution, github, harbor, quay } = written.sources
    const webhooks = printedWebhooks(first.stdout)
    expect([...webhooks.keys()]).toEqual(SECRET_ONLY)
    expect(webhooks.get('dockerhub')).toMatchObject({
      url: `http://localhost:8080/hooks/dockerhub/${dockerhub?.secret}`,
      headers: {},
    })
    expect(webhooks.get('distribution')).toMatchObject({
      url: 'http://localhost:8080/hooks/distribution',
      headers: { Authorization: `Bearer ${distribution?.token}` },
    })
    expect(webhooks.get('github')?.notes).toEqual(
      expect.arrayContaining([
        `Secret: ${github?.webhook_secret}`,
        'Content type: application/json.',
      ]),
    )
    expect(webhooks.get('harbor')?.headers).toEqual({ Authorization: `Bearer ${harbor?.token}` })
    expect(webhooks.get('quay')?.url).toBe(`http://localhost:8080/hooks/quay/${quay?.secret}`)
    expect(first.stdout).toContain('is reached from this machine only')
  })

  it('says which sources it left out, and what each needs', () => {
    expect(first.stdout).toContain(
      'Not enabled, as they need settings of their own (see docs/registries/<name>.md): artifactory (registry), nexus (registry), gar (audience, service_account).',
    )
  })

  it('enables only the sources named with --source, repeated or as a list', async () => {
    const file = join(dir, 'some-sources.yml')
    const result = await hookchainRelay([
      'init',
      '--config',
      file,
      '--source',
      'quay,github',
      '--source',
      'acr',
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const written = parse(readFileSync(file, 'utf8')) as { sources: Record<string, unknown> }
    expect(Object.keys(written.sources)).toEqual(['github', 'quay', 'acr'])
    expect([...printedWebhooks(result.stdout).keys()]).toEqual(['github', 'quay', 'acr'])
    expect(result.stdout).not.toContain('Not enabled')
    const check = await hookchainRelay(['check', '--config', file])
    expect(check.code).toBe(0)
  })

  it.each([
    [
      'dockerhb',
      '--source "dockerhb" is not a source; did you mean dockerhub? (sources: dockerhub, distribution, github, harbor, quay, artifactory, nexus, gitea, acr, ecr, gar, cloudevents)',
    ],
    [
      'nexus',
      '--source nexus needs registry, which init cannot guess: add sources.nexus to the config by hand (docs/registries/nexus.md)',
    ],
  ])('refuses --source %s, saying why, and writes nothing', async (name, message) => {
    const file = join(dir, `refused-${name}.yml`)
    const result = await hookchainRelay(['init', '--config', file, '--source', name])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(`hookchain-relay: ${message}\n`)
    expect(() => statSync(file)).toThrow()
  })

  it('refuses to overwrite the file, and leaves it as it was', async () => {
    const before = readFileSync(config, 'utf8')
    const again = await hookchainRelay(['init', '--config', config])
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(again.stderr).toBe(
      `hookchain-relay: ${config} already exists; init does not replace it. Pass --force to overwrite it, or --config to write another file.\n`,
    )
    expect(readFileSync(config, 'utf8')).toBe(before)
  })

  it('overwrites it with --force, with new secrets and the public URL given', async () => {
    const before = readFileSync(config, 'utf8')
    const forced = await hookchainRelay([
      'init',
      '--config',
      config,
      '--force',
      '--public-url',
      'https://relay.example.com/',
    ])
    expect(forced.code).toBe(0)
    const after = readFileSync(config, 'utf8')
    expect(after).not.toBe(before)
    expect(after).toContain('public_url: "https://relay.example.com/"')
    expect(printedWebhooks(forced.stdout).get('distribution')?.url).toBe(
      'https://relay.example.com/hooks/distribution',
    )
    expect(forced.stdout).not.toContain('is reached from this machine only')
  })

  it('refuses a public URL the config would refuse, and writes nothing', async () => {
    const file = join(dir, 'bad-url.yml')
    const result = await hookchainRelay([
      'init',
      '--config',
      file,
      '--public-url',
      'relay.example.com',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      'hookchain-relay: --public-url must be an absolute http(s) URL, like https://relay.example.com\n',
    )
    expect(() => statSync(file)).toThrow()
  })

  it('honours HOOKCHAIN_CONFIG, as serve and check do', async () => {
    const file = join(dir, 'from-env.yml')
    const result = await hookchainRelay(['init'], { HOOKCHAIN_CONFIG: file })
    expect(result.code).toBe(0)
    expect(statSync(file).isFile()).toBe(true)
  })
})

describe('a relay started with the config init wrote', () => {
  let relay: RelayProcess
  let output: string
  let sources: Record<string, Record<string, string>>
  beforeAll(async () => {
    const config = join(dir, 'serving.yml')
    output = (await hookchainRelay(['init', '--config', config])).stdout
    sources = (parse(readFileSync(config, 'utf8')) as { sources: typeof sources }).sources
    relay = await spawnRelay([
      '--config',
      config,
      '--database',
      `sqlite:${join(dir, 'serving.db')}`,
    ])
  })
  afterAll(() => {
    relay.child.kill('SIGKILL')
  })

  /** A registry's delivery, sent where init said and with the headers it said. */
  function deliver(
    source: string,
    body: string,
    headers: Record<string, string>,
  ): Promise<Response> {
    const webhook = printedWebhooks(output).get(source)
    if (!webhook) throw new Error(`init printed no webhook for ${source}`)
    const url = webhook.url.replace('http://localhost:8080', relay.url)
    return fetch(url, { method: 'POST', body, headers: { ...webhook.headers, ...headers } })
  }

  it.each([
    ['dockerhub', 'dockerhub-push.json', 'application/json'],
    [
      'distribution',
      'distribution-manifest-push.json',
      'application/vnd.docker.distribution.events.v1+json',
    ],
    ['harbor', 'harbor-push-artifact.json', 'application/json'],
    ['quay', 'quay-repo-push.json', 'application/json'],
  ])(
    'takes a %s delivery sent to the URL with the headers init printed',
    async (source, file, type) => {
      const answer = await deliver(source, fixture(file), { 'content-type': type })
      expect(answer.status, await answer.clone().text()).toBe(202)
    },
  )

  it('takes a GitHub delivery signed with the secret init printed', async () => {
    const body = fixture('github-package-published.json')
    const secret = sources.github?.webhook_secret ?? ''
    const answer = await deliver('github', body, {
      'content-type': 'application/json',
      'x-github-event': 'package',
      'x-github-delivery': 'b6a3c7f0-0000-4000-8000-000000000001',
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    })
    expect(answer.status, await answer.clone().text()).toBe(202)
  })

  it('refuses a delivery without them', async () => {
    const answer = await fetch(`${relay.url}/hooks/distribution`, {
      method: 'POST',
      body: fixture('distribution-manifest-push.json'),
      headers: { 'content-type': 'application/json' },
    })
    expect(answer.status).toBe(401)
  })
})

describe('hookchain-relay init next to an existing hookchain.yml', () => {
  it('does not touch it', async () => {
    const file = join(dir, 'hookchain.yml')
    writeFileSync(file, 'mine\n')
    const result = await hookchainRelay(['init', '--config', file])
    expect(result.code).toBe(1)
    expect(readFileSync(file, 'utf8')).toBe('mine\n')
  })
})
