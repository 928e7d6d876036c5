import { afterEach, describe, expect, it } from 'vitest'
import type { RegistryAccess } from '../../../src/relay/config/settings.js'
import { createImageReader, parseChallenge } from '../../../src/relay/deliverers/registry-reader.js'
import type { Image } from '../../../src/relay/model/run.js'
import { type RegistryStandIn, startRegistryStandIn } from '../../support/registry-stand-in.js'

const LABELS = {
  'org.opencontainers.image.source': 'https://github.com/acme/app',
  'org.opencontainers.image.revision': '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a',
  'org.opencontainers.image.version': 'v1.2.0',
}

let registry: RegistryStandIn | undefined
afterEach(async () => {
  await registry?.close()
  registry = undefined
})

function image(host: string, tag: string, digest: string | null = null): Image {
  return {
    registry: host,
    repository: 'acme/app',
    tag,
    digest,
    reference: `${host}/acme/app:${tag}`,
  }
}

function listed(host: string, access: Partial<RegistryAccess> = {}): RegistryAccess[] {
  return [{ host, username: null, password: null, http: true, ...access }]
}

describe('the image reader', () => {
  it('pins a tag to its digest with HEAD requests, after token auth', async () => {
    registry = await startRegistryStandIn()
    const pushed = registry.push('acme/app', 'v1.2.0')
    const reader = createImageReader({ registries: listed(registry.host) })

    const read = await reader.read(image(registry.host, 'v1.2.0'), { digest: true, labels: false })

    expect(read).toMatchObject({ digest: pushed.digest, labels: null, problem: null })
    expect(registry.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      'HEAD /v2/acme/app/manifests/v1.2.0',
      'GET /token',
      'HEAD /v2/acme/app/manifests/v1.2.0',
    ])
    expect(registry.requests[1]?.path).toContain('scope=repository%3Aacme%2Fapp%3Apull')
    expect(read.attempts.map((a) => a.status)).toEqual([401, 200, 200])
    expect(read.attempts[0]).toMatchObject({
      target: `${registry.host}/acme/app`,
      request: { method: 'HEAD', url: `http://${registry.host}/v2/acme/app/manifests/v1.2.0` },
    })
  })

  it("reads the labels of a multi-platform image from its linux/amd64 config, not an attestation's", async () => {
    registry = await startRegistryStandIn()
    const pushed = registry.push('acme/app', 'v1.2.0', { labels: LABELS, index: true })
    const reader = createImageReader({ registries: listed(registry.host) })

    const read = await reader.read(image(registry.host, 'v1.2.0'), { digest: true, labels: true })

    expect(read).toMatchObject({
      digest: pushed.digest,
      labels: {
        source: LABELS['org.opencontainers.image.source'],
        revision: LABELS['org.opencontainers.image.revision'],
      },
      problem: null,
    })
    const blob = registry.requests.filter((r) => r.path.includes(pushed.config.slice(7)))
    // The blob is redirected to another origin: the registry's token does not go there.
    expect(blob.map((r) => [r.origin, r.authorization === undefined])).toEqual([
      ['registry', false],
      ['cdn', true],
    ])
  })

  it('reads an image named by its digest without asking for the tag', async () => {
    registry = await startRegistryStandIn()
    const pushed = registry.push('acme/app', 'v2', { labels: LABELS })
    const reader = createImageReader({ registries: listed(registry.host) })

    const read = await reader.read(image(registry.host, 'v2', pushed.digest), {
      digest: false,
      labels: true,
    })

    expect(read.problem).toBeNull()
    expect(read.labels?.revision).toBe(LABELS['org.opencontainers.image.revision'])
    expect(registry.requests.some((r) => r.path.endsWith('/manifests/v2'))).toBe(false)
  })

  it('reads a private registry with the credentials of registries, and says what is missing without', async () => {
    const credentials = { username: 'reader', password: 'registry-password-0123456789' }
    registry = await startRegistryStandIn({ credentials })
    registry.push('acme/app', 'v1.2.0')

    const anonymous = await createImageReader({ registries: listed(registry.host) }).read(
      image(registry.host, 'v1.2.0'),
      { digest: true, labels: false },
    )
    expect(anonymous).toMatchObject({ digest: null, retryable: false })
    expect(anonymous.problem).toBe(
      `${registry.host}: its token endpoint http://${registry.host}/token answered HTTP 401: check the credentials of ${registry.host} in registries`,
    )

    const withCredentials = await createImageReader({
      registries: listed(registry.host, credentials),
    }).read(image(registry.host, 'v1.2.0'), { digest: true, labels: false })
    expect(withCredentials.problem).toBeNull()
    expect(withCredentials.digest).toMatch(/^sha256:/)
    expect(JSON.stringify(withCredentials.attempts)).not.toContain(credentials.password)
  })

  it.each([
    [404, 'the manifest v9 of acme/app is not there (HTTP 404)', false],
    [503, 'the manifest v9: HTTP 503', true],
  ])(
    'says why it read nothing when the registry answers %i',
    async (status, problem, retryable) => {
      registry = await startRegistryStandIn()
      if (status !== 404) registry.fail(1, status)
      const read = await createImageReader({ registries: listed(registry.host) }).read(
        image(registry.host, 'v9'),
        { digest: true, labels: false },
      )
      expect(read).toMatchObject({ digest: null, retryable })
      expect(read.problem).toContain(problem)
    },
  )

  it('does not ask a registry that gave no answer again for a minute', async () => {
    registry = await startRegistryStandIn()
    const host = registry.host
    await registry.close()
    registry = undefined
    let now = Date.parse('2026-12-06T10:00:00Z')
    const reader = createImageReader({ registries: listed(host), now: () => now })
    const want = { digest: true, labels: false }

    expect(reader.silent?.(host)).toBeNull()
    const first = await reader.read(image(host, 'v1'), want)
    expect(first.problem).toMatch(/ECONNREFUSED.*\(not asked again for 60 s\)$/)
    expect(first.attempts).toHaveLength(1)
    now += 59_000
    // What new runs are told, so that they do not wait for it.
    expect(reader.silent?.(host.toUpperCase())).toBe(first.problem)
    const second = await reader.read(image(host, 'v1'), want)
    expect(second).toMatchObject({ problem: first.problem, attempts: [], retryable: false })
    now += 2000
    expect(reader.silent?.(host)).toBeNull()
    expect((await reader.read(image(host, 'v1'), want)).attempts).toHaveLength(1)
  })

  it('reads an unlisted registry only at a public address, over https', async () => {
    registry = await startRegistryStandIn()
    registry.push('acme/app', 'v1.2.0')
    const read = await createImageReader({ registries: [] }).read(image(registry.host, 'v1.2.0'), {
      digest: true,
      labels: false,
    })
    expect(read.problem).toBe(
      `${registry.host}: refused: 127.0.0.1 is a loopback address; list ${registry.host} under registries to read it there`,
    )
    expect(registry.requests).toEqual([])
  })
})

describe('parseChallenge', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/nginx:pull',
        },
      },
    ],
    ['Basic realm="Registry Realm"', { scheme: 'basic', params: { realm: 'Registry Realm' } }],
    [
      'bearer realm=https://ghcr.io/token',
      { scheme: 'bearer', params: { realm: 'https://ghcr.io/token' } },
    ],
  ])('reads %s', (header, expected) => {
    expect(parseChallenge(header)).toEqual(expected)
  })
})
