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

/** Settings some sources need besides their secrets. */
const OTHER_SETTINGS: Record<string, Record<string, string>> = {
  artifactory: { registry: 'acme.jfrog.io' },
  nexus: { registry: 'nexus.acme.com:8443' },
  gar: {
    audience: `${BASE}/hooks/gar`,
    service_account: 'pubsub-push@acme-prod.iam.gserviceaccount.com',
  },
}

/** A config block for a source: each of its secrets SECRET, and what else it needs. */
function blockOf(source: Source<unknown>): Record<string, string> {
  return {
    ...OTHER_SETTINGS[source.name],
    ...Object.fromEntries(secretKeys(source).map((key) => [key, SECRET])),
  }
}

/**
 * Sources whose registry signs each body with a secret the user enters in a field of its own:
 * the note that names the field, and the header the registry then sends.
 */
const SIGNED: Record<string, { field: string; sign: (secret: string, body: string) => object }> = {
  github: {
    field: 'Secret: ',
    sign: (secret, body) => ({ 'X-Hub-Signature-256': `sha256=${hmac('sha256', secret, body)}` }),
  },
  artifactory: {
    field: 'Secret token: ',
    sign: (secret, body) => ({ 'X-JFrog-Event-Auth': hmac('sha256', secret, body) }),
  },
  nexus: {
    field: 'Secret Key: ',
    sign: (secret, body) => ({ 'X-Nexus-Webhook-Signature': hmac('sha1', secret, body) }),
  },
  gitea: {
    field: 'Secret: ',
    sign: (secret, body) => ({ 'X-Gitea-Signature': hmac('sha256', secret, body) }),
  },
}

function hmac(algorithm: string, secret: string, body: string): string {
  return createHmac(algorithm, secret).update(body).digest('hex')
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
    ['artifactory', `${BASE}/hooks/artifactory`, {}],
    ['nexus', `${BASE}/hooks/nexus`, {}],
    ['gitea', `${BASE}/hooks/gitea`, {}],
    ['acr', `${BASE}/hooks/acr`, { Authorization: `Bearer ${SECRET}` }],
    ['ecr', `${BASE}/hooks/ecr`, { Authorization: `Bearer ${SECRET}` }],
    ['gar', `${BASE}/hooks/gar`, {}],
    ['cloudevents', `${BASE}/hooks/cloudevents`, { Authorization: `Bearer ${SECRET}` }],
  ])('%s: %s with headers %j', (name, url, headers) => {
    const source = sourceNamed(name) as Source<unknown>
    const setup = source.webhook(BASE, source.config.read(blockOf(source)))
    expect(setup.url).toBe(url)
    expect(setup.headers).toEqual(headers)
    expect(setup.notes?.length).toBeGreaterThan(0)
  })

  it('covers every source', () => {
    const described = ['dockerhub', 'distribution', 'github', 'harbor', 'quay', 'artifactory']
    described.push('nexus', 'gitea', 'acr', 'ecr', 'gar', 'cloudevents')
    expect(SOURCES.map((s) => s.name).sort()).toEqual(described.sort())
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

  it('tells Artifactory users the event, and ECR users the rule that picks pushes', () => {
    const notesOf = (name: string) => {
      const source = sourceNamed(name) as Source<unknown>
      return source.webhook(BASE, source.config.read(blockOf(source))).notes?.join('\n')
    }
    expect(notesOf('artifactory')).toContain('Docker tag was pushed')
    expect(notesOf('ecr')).toContain('"detail-type": ["ECR Image Action"]')
    expect(notesOf('gitea')).toContain('Package only')
    expect(notesOf('nexus')).toContain('Webhook: Repository')
  })

  // gar is left out: its token is Google's, signed for the subscription (test/relay/sources/gar.test.ts
  // checks tokens of a local issuer); its notes name the audience and account the token must carry.
  it.each(SOURCES.filter((s) => s.name !== 'gar').map((s) => [s.name, s] as const))(
    '%s: a delivery sent as set up authenticates',
    async (name, source) => {
      const settings = source.config.read(blockOf(source))
      const { url, headers, notes } = source.webhook(BASE, settings)
      const body = '{"action":"published"}'
      const signed = SIGNED[name]
      const secret = notes
        ?.find((n) => n.startsWith(signed?.field ?? '\0'))
        ?.slice(signed?.field.length)
      const sent = signed ? { ...headers, ...signed.sign(secret ?? '', body) } : headers
      const request = requestAsSetUp(url, sent as Record<string, string>, body)
      expect(await source.authenticate(request, settings)).toBe('authenticated')
    },
  )

  it("gar: the subscription it describes carries the config's audience and service account", () => {
    const source = sourceNamed('gar') as Source<unknown>
    const { notes } = source.webhook(BASE, source.config.read(blockOf(source)))
    expect(notes?.[0]).toContain(`--push-endpoint=${BASE}/hooks/gar`)
    expect(notes?.[0]).toContain(`--push-auth-token-audience=${BASE}/hooks/gar`)
    expect(notes?.[0]).toContain(
      '--push-auth-service-account=pubsub-push@acme-prod.iam.gserviceaccount.com',
    )
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

  it.each(SOURCES.map((s) => [s.name, s] as const))(
    '%s: no secret anywhere in what a page shows',
    (_name, source) => {
      const setup = source.webhook(BASE, maskedSettings(source, blockOf(source)))
      expect(JSON.stringify(setup)).not.toContain(SECRET)
    },
  )

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
