import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { SOURCES, sourceNamed } from '../../../src/relay/sources/index.js'
import type { AuthRequest, Source } from '../../../src/relay/sources/types.js'
import {
  maskedSettings,
  secretKeys,
  sourceWebhooks,
} from '../../../src/relay/sources/webhook-setup.js'

const BASE = 'https://relay.example.com'
const SECRET = 'a-secret-of-the-test-0123456789'

/** A config block for a source whose settings are all secrets: each one SECRET. */
function blockOf(source: Source<unknown>): Record<string, string> {
  return Object.fromEntries(secretKeys(source).map((key) => [key, SECRET]))
}

/** What the registry sends once set up as the webhook says: its URL's last segment and headers. */
function requestAsSetUp(url: string, headers: Record<string, string>, body: string): AuthRequest {
  const path = new URL(url).pathname
  const [, hooks, , secret] = path.split('/')
  expect(hooks).toBe('hooks')
  return {
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
    pathSecret: secret === undefined ? null : decodeURIComponent(secret),
    rawBody: Buffer.from(body),
  }
}

describe('the webhook each source describes', () => {
  it.each([
    ['dockerhub', `${BASE}/hooks/dockerhub/${SECRET}`, {}],
    ['distribution', `${BASE}/hooks/distribution`, { Authorization: `Bearer ${SECRET}` }],
    ['github', `${BASE}/hooks/github`, {}],
    ['harbor', `${BASE}/hooks/harbor`, { Authorization: `Bearer ${SECRET}` }],
    ['quay', `${BASE}/hooks/quay/${SECRET}`, {}],
  ])('%s: %s with headers %j', (name, url, headers) => {
    const source = sourceNamed(name) as Source<unknown>
    const setup = source.webhook(BASE, source.config.read(blockOf(source)))
    expect(setup.url).toBe(url)
    expect(setup.headers).toEqual(headers)
    expect(setup.notes?.length).toBeGreaterThan(0)
  })

  it('tells GitHub users the content type, the events and the secret', () => {
    const source = sourceNamed('github') as Source<unknown>
    const { notes } = source.webhook(BASE, source.config.read(blockOf(source)))
    expect(notes).toEqual(
      expect.arrayContaining([
        expect.stringContaining('application/json'),
        `Secret: ${SECRET}`,
        expect.stringContaining('Packages'),
      ]),
    )
  })

  it.each(SOURCES.filter((s) => s.name !== 'github').map((s) => [s.name, s] as const))(
    '%s: a delivery sent as set up authenticates',
    async (_name, source) => {
      const settings = source.config.read(blockOf(source))
      const { url, headers } = source.webhook(BASE, settings)
      const request = requestAsSetUp(url, headers, '{}')
      expect(await source.authenticate(request, settings)).toBe('authenticated')
    },
  )

  it('github: a delivery signed with the secret it names authenticates', async () => {
    const source = sourceNamed('github') as Source<unknown>
    const settings = source.config.read(blockOf(source))
    const { url, headers, notes } = source.webhook(BASE, settings)
    const secret = notes?.find((n) => n.startsWith('Secret: '))?.slice('Secret: '.length) ?? ''
    const body = '{"action":"published"}'
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
    const request = requestAsSetUp(url, { ...headers, 'X-Hub-Signature-256': signature }, body)
    expect(await source.authenticate(request, settings)).toBe('authenticated')
  })

  it('encodes a path secret that a URL cannot hold as it is', async () => {
    const source = sourceNamed('dockerhub') as Source<unknown>
    const settings = source.config.read({ secret: 'a/b?c#d e%f-0123456789' })
    const { url } = source.webhook(BASE, settings)
    expect(url).toBe(`${BASE}/hooks/dockerhub/a%2Fb%3Fc%23d%20e%25f-0123456789`)
    expect(await source.authenticate(requestAsSetUp(url, {}, '{}'), settings)).toBe('authenticated')
  })
})

describe('maskedSettings', () => {
  it.each([
    ['dockerhub', `${BASE}/hooks/dockerhub/<sources.dockerhub.secret>`, {}],
    ['quay', `${BASE}/hooks/quay/<sources.quay.secret>`, {}],
    [
      'distribution',
      `${BASE}/hooks/distribution`,
      { Authorization: 'Bearer <sources.distribution.token>' },
    ],
    ['harbor', `${BASE}/hooks/harbor`, { Authorization: 'Bearer <sources.harbor.token>' }],
  ])('%s: shows a placeholder wherever the secret goes', (name, url, headers) => {
    const source = sourceNamed(name) as Source<unknown>
    const setup = source.webhook(BASE, maskedSettings(source, blockOf(source)))
    expect(setup.url).toBe(url)
    expect(setup.headers).toEqual(headers)
    expect(JSON.stringify(setup)).not.toContain(SECRET)
  })

  it('github: the secret in the notes is a placeholder too', () => {
    const source = sourceNamed('github') as Source<unknown>
    const setup = source.webhook(BASE, maskedSettings(source, blockOf(source)))
    expect(setup.notes).toContain('Secret: <sources.github.webhook_secret>')
    expect(JSON.stringify(setup)).not.toContain(SECRET)
  })

  it('masks the writeOnly keys of the schema, and those only', () => {
    const source: Source<Record<string, unknown>> = {
      ...(sourceNamed('dockerhub') as Source<never>),
      name: 'twofold',
      config: {
        schema: {
          properties: {
            secret: { type: 'string', writeOnly: true },
            registry: { type: 'string' },
          },
        },
        read: (block) => ({ ...block }),
      },
    }
    expect(secretKeys(source as Source<unknown>)).toEqual(['secret'])
    expect(maskedSettings(source, { secret: SECRET, registry: 'acme.jfrog.io' })).toEqual({
      secret: '<sources.twofold.secret>',
      registry: 'acme.jfrog.io',
    })
  })
})

describe('sourceWebhooks', () => {
  it('lists the enabled sources in the order of SOURCES, with or without their secrets', () => {
    const blocks = { quay: { secret: SECRET }, dockerhub: { secret: SECRET } }
    const plain = sourceWebhooks(`${BASE}/`, blocks, { masked: false })
    expect(plain.map((w) => [w.source, w.title, w.setup.url])).toEqual([
      ['dockerhub', 'Docker Hub', `${BASE}/hooks/dockerhub/${SECRET}`],
      ['quay', 'Quay', `${BASE}/hooks/quay/${SECRET}`],
    ])
    const masked = sourceWebhooks(BASE, blocks, { masked: true })
    expect(masked.map((w) => w.setup.url)).toEqual([
      `${BASE}/hooks/dockerhub/<sources.dockerhub.secret>`,
      `${BASE}/hooks/quay/<sources.quay.secret>`,
    ])
  })
})
