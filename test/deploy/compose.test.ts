import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { collected, only, parseDockerfile, stagesOf } from './dockerfile.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8')

interface Service {
  image?: string
  build?: unknown
  env_file?: string | string[]
  environment?: Record<string, string>
  ports?: string[]
  volumes?: string[]
  healthcheck?: { test: string[] | string }
  depends_on?: Record<string, { condition: string }>
  restart?: string
}

interface Compose {
  services: Record<string, Service>
  volumes?: Record<string, unknown>
}

// Compose resolves YAML merge keys (<<: *relay), so the test does too.
const compose = (file: string) => parse(read(file), { merge: true }) as Compose
const single = compose('compose.yaml')
const cluster = compose('compose.postgres.yaml')

const runtime = stagesOf(parseDockerfile(read('Dockerfile'))).at(-1)
if (!runtime) throw new Error('the Dockerfile has no stage')
const imageEnv = collected(runtime, 'ENV')
const exposed = only(runtime, 'EXPOSE').rest

/** The relay services: those that run the image built from this repository. */
const relays = (file: Compose) =>
  Object.entries(file.services).filter(([, service]) => service.build !== undefined)

/** `${NAME}`, `${NAME:-default}`, `${NAME:?error}` and `$NAME` in every string of a parsed file. */
function variables(value: unknown): string[] {
  if (typeof value === 'string') {
    return [...value.replace(/\$\$/g, '').matchAll(/\$\{?([A-Za-z_]\w*)/g)].map(
      (m) => m[1] as string,
    )
  }
  if (Array.isArray(value)) return value.flatMap(variables)
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => [...variables(key), ...variables(item)])
  }
  return []
}

/** The names .env.example sets, with their values. */
function envExample(): Map<string, string> {
  const names = new Map<string, string>()
  for (const line of read('.env.example').split('\n')) {
    const match = /^([A-Za-z_]\w*)=(.*)$/.exec(line)
    if (match) names.set(match[1] as string, match[2] as string)
  }
  return names
}

function mountOf(service: Service, target: string): string | undefined {
  return service.volumes?.find((volume) => volume.split(':')[1] === target)
}

function expectRelayService(name: string, service: Service) {
  expect(service.restart, `${name}: restart`).toMatch(/^(always|unless-stopped)$/)
  expect(service.env_file, `${name}: secrets from .env`).toBe('.env')
  const config = mountOf(service, imageEnv.HOOKCHAIN_CONFIG as string)
  expect(config, `${name}: the config at ${imageEnv.HOOKCHAIN_CONFIG}`).toMatch(
    /^\.\/hookchain\.yml:.+:ro$/,
  )
  expect(service.environment?.HOOKCHAIN_CONFIG).toBe(imageEnv.HOOKCHAIN_CONFIG)
  expect(service.ports?.length, `${name}: ports`).toBe(1)
  expect(service.ports?.[0]?.split(':').at(-1), `${name}: the container port`).toBe(exposed)
}

describe('compose.yaml', () => {
  it('runs one relay on SQLite, its database in a named volume', () => {
    const found = relays(single)
    expect(found.map(([name]) => name)).toEqual(['relay'])
    const [name, relay] = found[0] as [string, Service]
    expectRelayService(name, relay)
    expect(relay.environment?.DATABASE_URL).toBe(imageEnv.DATABASE_URL)
    const data = mountOf(relay, '/data')?.split(':')[0]
    expect(data, 'a volume at /data').toBeDefined()
    expect(Object.keys(single.volumes ?? {})).toContain(data)
  })
})

describe('compose.postgres.yaml', () => {
  const postgres = cluster.services.postgres as Service

  it('runs PostgreSQL 16 or 17 with a health check and a volume', () => {
    expect(postgres.image).toMatch(/^postgres:1[67]\b/)
    expect(postgres.healthcheck?.test).toEqual(expect.arrayContaining(['pg_isready']))
    const data = mountOf(postgres, '/var/lib/postgresql/data')?.split(':')[0]
    expect(Object.keys(cluster.volumes ?? {})).toContain(data)
  })

  it('runs two relays on that database, each started once it is healthy, on ports of their own', () => {
    const found = relays(cluster)
    expect(found.length).toBe(2)
    for (const [name, relay] of found) {
      expectRelayService(name, relay)
      expect(relay.depends_on, name).toEqual({ postgres: { condition: 'service_healthy' } })
      const url = new URL(relay.environment?.DATABASE_URL?.replace(/\$\{[^}]+\}/g, 'x') ?? '')
      expect(url.protocol).toBe('postgres:')
      expect(url.hostname).toBe('postgres')
      expect(url.username).toBe(postgres.environment?.POSTGRES_USER)
      expect(url.pathname).toBe(`/${postgres.environment?.POSTGRES_DB}`)
      expect(mountOf(relay, '/data'), `${name} keeps no SQLite file`).toBeUndefined()
    }
    const hostPorts = found.map(([, relay]) => relay.ports?.[0]?.split(':').slice(0, -1).join(':'))
    expect(new Set(hostPorts).size).toBe(2)
  })
})

describe('.env.example', () => {
  const listed = envExample()

  it('lists every variable the compose files and the example config read', () => {
    const used = new Set([
      ...variables(single),
      ...variables(cluster),
      ...variables(parse(read('hookchain.yml'))),
    ])
    expect(used.size).toBeGreaterThan(5)
    expect([...used].filter((name) => !listed.has(name))).toEqual([])
  })

  it('sets no secret, and .env stays out of git', () => {
    const secrets = [...listed].filter(([name]) => /SECRET|TOKEN|PASSWORD/.test(name))
    expect(secrets.length).toBeGreaterThan(3)
    for (const [name, value] of secrets) expect(value, name).toBe('')
    expect(read('.gitignore').split('\n')).toContain('.env')
  })
})
