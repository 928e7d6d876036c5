// A registry added as its own module and one entry in the list of sources is served, configured
// and documented with no other change: the modules that derive from the list are loaded only
// after this file has added a source to it.
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { SOURCES } from '../../../src/relay/sources/index.js'
import { secretSetting, stringSettings } from '../../../src/relay/sources/settings-fields.js'
import {
  type Source,
  SourceAuthError,
  SourcePayloadError,
} from '../../../src/relay/sources/types.js'

/** A made-up registry: a bearer token, and a body `{"image": "repo:tag"}`. */
const acme: Source<{ token: string }> = {
  name: 'acmereg',
  title: 'Acme Registry',
  config: stringSettings(
    'Acme Registry webhooks: POST /hooks/acmereg with `Authorization: Bearer <token>`.',
    { token: secretSetting('Token', 'The bearer token Acme sends.') },
    ({ token }) => ({ token }),
  ),
  pathSecret: false,
  contentTypes: ['application/vnd.acme+json'],
  authenticate(request, settings) {
    if (request.headers.authorization !== `Bearer ${settings.token}`)
      throw new SourceAuthError('send the token of sources.acmereg.token')
    return 'authenticated'
  },
  webhook: (baseUrl, { token }) => ({
    url: `${baseUrl}/hooks/acmereg`,
    headers: { Authorization: `Bearer ${token}` },
  }),
  normalise(request) {
    const image = (request.body as { image?: unknown }).image
    if (typeof image !== 'string' || !image.includes(':'))
      throw new SourcePayloadError('expected {"image": "repository:tag"}', '/image')
    const [repository = '', tag = ''] = image.split(':')
    return {
      deliveryId: `acme-${image}`,
      ignored: null,
      pushes: [
        {
          source: 'acmereg',
          registry: 'registry.acme.test',
          repository,
          tag,
          digest: null,
          pusher: null,
          pushedAt: request.receivedAt.toISOString(),
          callbackUrl: null,
        },
      ],
    }
  },
}

/** Another, whose block needs a setting only its user knows (its host), besides a secret. */
const hosted: Source<{ secret: string; registry: string }> = {
  ...(acme as unknown as Source<{ secret: string; registry: string }>),
  name: 'hostedreg',
  title: 'Hosted Registry',
  config: {
    schema: {
      description: 'Hosted Registry webhooks: POST /hooks/hostedreg.',
      properties: {
        secret: secretSetting('Secret', 'The shared secret.'),
        registry: { type: 'string', title: 'Registry', description: 'Its host.' },
      },
      required: ['secret', 'registry'],
    },
    read: (block) => ({ secret: String(block.secret), registry: String(block.registry) }),
  },
  webhook: (baseUrl, { secret, registry }) => ({
    url: `${baseUrl}/hooks/hostedreg`,
    headers: { 'X-Hosted-Secret': secret },
    notes: [`On ${registry}`],
  }),
}
;(SOURCES as Source<unknown>[]).push(acme as Source<unknown>, hosted as Source<unknown>)

const { parseSettings } = await import('../../../src/relay/config/load.js')
const { editorSchema } = await import('../../../src/relay/config/editor-schema.js')
const { startRelay } = await import('../../../src/relay/main.js')
const { starterConfig } = await import('../../../src/relay/config/starter-config.js')
const { sourceWebhooks } = await import('../../../src/relay/sources/webhook-setup.js')

const TOKEN = 'acme-token-0123456789abcdef'
const CONFIG = `public_url: http://relay.test
sources:
  acmereg: { token: ${TOKEN} }
chains:
  - name: acme
    match: { repository: team/app }
    steps:
      - webhook: { url: "http://127.0.0.1:9/hook" }
`

describe('a source added to the list of sources', () => {
  it('is configured under sources.<name>, its block checked like any other', () => {
    const settings = parseSettings(CONFIG, { env: {}, baseDir: '.' })
    expect(settings.sources.acmereg).toEqual({ token: TOKEN })
    expect(() =>
      parseSettings(CONFIG.replace(`token: ${TOKEN}`, 'token: short, extra: 1'), {
        env: {},
        baseDir: '.',
      }),
    ).toThrow(
      expect.objectContaining({
        problems: expect.arrayContaining([
          expect.objectContaining({ path: 'sources.acmereg.token' }),
          expect.objectContaining({ path: 'sources.acmereg.extra' }),
        ]),
      }),
    )
  })

  it('is documented in the schema editors read, with its title, description and fields', () => {
    const block = (editorSchema() as { properties: Record<string, { properties: object }> })
      .properties.sources?.properties as Record<string, Record<string, unknown>>
    expect(block.acmereg).toMatchObject({
      title: 'Acme Registry',
      description: expect.stringContaining('POST /hooks/acmereg'),
      required: ['token'],
    })
  })

  it('is served at /hooks/<name>: it authenticates, takes its media type and starts chains', async () => {
    const settings = parseSettings(CONFIG, { env: {}, baseDir: '.' })
    const relay = await startRelay({
      settings,
      databaseUrl: 'sqlite::memory:',
      port: 0,
      host: '127.0.0.1',
      logger: pino({ level: 'silent' }),
      defaultMetrics: false,
    })
    try {
      const post = (headers: Record<string, string>, body = '{"image":"team/app:v1"}') =>
        fetch(`${relay.url}/hooks/acmereg`, { method: 'POST', headers, body })
      const json = { 'content-type': 'application/json' }
      const started = await post({ ...json, authorization: `Bearer ${TOKEN}` })
      expect(started.status).toBe(202)
      expect(await started.json()).toMatchObject({ outcome: 'started', runs: [expect.any(String)] })

      const own = await post(
        { 'content-type': 'application/vnd.acme+json', authorization: `Bearer ${TOKEN}` },
        '{"image":"team/app:v2"}',
      )
      expect(own.status).toBe(202)
      expect((await post({ ...json, authorization: 'Bearer wrong' })).status).toBe(401)
      const bad = await post({ ...json, authorization: `Bearer ${TOKEN}` }, '{"image":1}')
      expect(bad.status).toBe(422)
      expect(await bad.json()).toMatchObject({ source: 'acmereg' })
      expect((await post({ ...json, authorization: `Bearer ${TOKEN}` })).status).toBe(202)
      const withSecret = await fetch(`${relay.url}/hooks/acmereg/extra`, {
        method: 'POST',
        headers: json,
        body: '{}',
      })
      expect(withSecret.status).toBe(404)
    } finally {
      await relay.close()
    }
  })

  it('is enabled by init with a fresh secret, and its webhook is listed with the others', () => {
    const starter = starterConfig({ publicUrl: 'https://relay.example.com' })
    expect(starter.sources.acmereg).toEqual({ token: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(parseSettings(starter.text, { env: {}, baseDir: '.' }).sources.acmereg).toEqual(
      starter.sources.acmereg,
    )
    const webhooks = sourceWebhooks('https://relay.example.com', starter.sources, { masked: true })
    expect(webhooks.at(-1)).toEqual({
      source: 'acmereg',
      title: 'Acme Registry',
      setup: {
        url: 'https://relay.example.com/hooks/acmereg',
        headers: { Authorization: 'Bearer <sources.acmereg.token>' },
      },
    })
  })

  it('is left out of the starter config, and named there, when it needs settings init cannot make up', () => {
    const starter = starterConfig({ publicUrl: null })
    expect(starter.sources.hostedreg).toBeUndefined()
    expect(starter.leftOut).toContainEqual({
      source: 'hostedreg',
      title: 'Hosted Registry',
      needs: ['registry'],
    })
    expect(starter.text).toContain('#   hostedreg: registry')
    const settings = parseSettings(starter.text, { env: {}, baseDir: '.' })
    expect(Object.keys(settings.sources)).not.toContain('hostedreg')
  })
})
