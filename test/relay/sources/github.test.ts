import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { describe, expect, it } from 'vitest'
import { github } from '../../../src/relay/sources/github.js'
import {
  type PushEvent,
  SourceAuthError,
  SourcePayloadError,
  type SourceRequest,
} from '../../../src/relay/sources/types.js'
import {
  fixtureBytes,
  fixtureJson,
  RECEIVED_AT,
  type RequestParts,
  requestOf,
  thrownBy,
} from './fixture-request.js'

const SECRETS = { webhookSecret: 'gh-hook-secret-5b1e' }
const DELIVERY = '72d3162e-cc78-11e3-81ab-4c9367dc0958'
const INDEX = 'sha256:9f2a47a0d3c1e8b5f6a7c4d2e1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2'

function sign(body: Buffer, secret = SECRETS.webhookSecret): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/** A delivery as GitHub sends it: the event name, its id and the signature of the exact bytes. */
function delivery(event: string, body: Buffer | unknown, parts: RequestParts = {}): SourceRequest {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
  return requestOf(raw, {
    ...parts,
    headers: {
      'x-github-event': event,
      'x-github-delivery': DELIVERY,
      'x-hub-signature-256': sign(raw),
      ...parts.headers,
    },
  })
}

function fixtureDelivery(event: string, name: string, parts: RequestParts = {}) {
  return delivery(event, fixtureBytes(name), parts)
}

/** The registry_package fixture with its package version changed by `change`. */
function changedVersion(change: (version: Record<string, unknown>) => void) {
  const body = fixtureJson('github-registry-package-published.json')
  const pkg = body.registry_package as { package_version: Record<string, unknown> }
  change(pkg.package_version)
  return body
}

const GHCR_PUSH: PushEvent = {
  source: 'github',
  registry: 'ghcr.io',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: INDEX,
  pusher: 'octo-dev',
  // GitHub sends 0001-01-01T00:00:00Z as the version's dates.
  pushedAt: RECEIVED_AT.toISOString(),
  callbackUrl: null,
  labels: {
    source: 'https://github.com/Acme/app',
    revision: '3f1c9a7e5b2d8f4a6c0e1b3d5f7a9c2e4b6d8f0a',
  },
}

describe('github fixtures', () => {
  const require = createRequire(import.meta.url)
  const schemas = JSON.parse(
    readFileSync(require.resolve('@octokit/webhooks-schemas/schema.json'), 'utf8'),
  )
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(schemas, 'webhooks')
  const validator = (definition: string) => {
    const validate = ajv.getSchema(`webhooks#/definitions/${definition}`)
    if (!validate) throw new Error(`no definition ${definition} in @octokit/webhooks-schemas`)
    return validate
  }

  it.each([
    ['github-registry-package-published.json', 'registry_package$published'],
    ['github-registry-package-untagged.json', 'registry_package$published'],
    ['github-package-published.json', 'package$published'],
    ['github-package-npm.json', 'package$published'],
    ['github-ping.json', 'ping$event'],
  ])('%s is a valid %s payload per @octokit/webhooks-schemas', (file, definition) => {
    const validate = validator(definition)

    const valid = validate(fixtureJson(file))

    expect(validate.errors ?? []).toEqual([])
    expect(valid).toBe(true)
  })

  it('the schema check would catch a fixture that drifted from the schema', () => {
    const drifted = fixtureJson('github-registry-package-published.json')
    ;(drifted.registry_package as Record<string, unknown>).package_type = 'oci'

    expect(validator('registry_package$published')(drifted)).toBe(false)
  })
})

describe('github source', () => {
  it('normalises a registry_package published event of a tagged ghcr.io image', () => {
    const result = github.normalise(
      fixtureDelivery('registry_package', 'github-registry-package-published.json'),
      SECRETS,
    )

    expect(result).toEqual({
      deliveryId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      pushes: [GHCR_PUSH],
      ignored: null,
    })
  })

  it('normalises the same push announced as a package event', () => {
    const result = github.normalise(
      fixtureDelivery('package', 'github-package-published.json'),
      SECRETS,
    )

    expect(result).toEqual({
      deliveryId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      pushes: [GHCR_PUSH],
      ignored: null,
    })
  })

  it('ignores the untagged platform manifests of a multi-arch push', () => {
    const result = github.normalise(
      fixtureDelivery('registry_package', 'github-registry-package-untagged.json'),
      SECRETS,
    )

    expect(result.pushes).toEqual([])
    expect(result.ignored).toMatch(/^untagged container version/)
  })

  it('ignores packages of other ecosystems', () => {
    const result = github.normalise(fixtureDelivery('package', 'github-package-npm.json'), SECRETS)

    expect(result).toEqual({
      deliveryId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      pushes: [],
      ignored: 'npm packages are not container images',
    })
  })

  it('ignores the ping GitHub sends when the webhook is created', () => {
    expect(github.normalise(fixtureDelivery('ping', 'github-ping.json'), SECRETS)).toEqual({
      deliveryId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      pushes: [],
      ignored: 'ping',
    })
  })

  it('ignores other events and actions, naming them', () => {
    expect(github.normalise(delivery('push', { ref: 'refs/heads/main' }), SECRETS).ignored).toBe(
      'GitHub push events are not package pushes',
    )
    const updated = fixtureJson('github-registry-package-published.json')
    updated.action = 'updated'
    expect(github.normalise(delivery('registry_package', updated), SECRETS).ignored).toBe(
      'GitHub registry_package updated events are not pushes',
    )
  })

  it('takes the container type in any case, and the old docker type', () => {
    for (const type of ['container', 'docker']) {
      const body = fixtureJson('github-registry-package-published.json')
      ;(body.registry_package as Record<string, unknown>).package_type = type

      expect(github.normalise(delivery('registry_package', body), SECRETS).pushes).toEqual([
        GHCR_PUSH,
      ])
    }
  })

  it("takes the push time from the version's dates when GitHub fills them in", () => {
    const body = changedVersion((version) => {
      version.created_at = '2026-11-26T21:31:50Z'
      version.updated_at = '2026-11-26T21:31:56Z'
    })

    const [push] = github.normalise(delivery('registry_package', body), SECRETS).pushes

    expect(push?.pushedAt).toBe('2026-11-26T21:31:56.000Z')
  })

  it("takes the registry host from package_url, as a GitHub Enterprise Server's own", () => {
    const body = changedVersion((version) => {
      version.package_url = 'containers.github.acme.example/acme/app:v1.2.0'
    })

    const [push] = github.normalise(delivery('registry_package', body), SECRETS).pushes

    expect(push?.registry).toBe('containers.github.acme.example')
  })

  it('lower-cases the repository as image references have it', () => {
    const body = fixtureJson('github-registry-package-published.json')
    const pkg = body.registry_package as Record<string, unknown>
    pkg.name = 'Tools/Builder'

    const [push] = github.normalise(delivery('registry_package', body), SECRETS).pushes

    expect(push?.repository).toBe('acme/tools/builder')
  })

  it('takes the digest from the version when the tag carries none', () => {
    const body = changedVersion((version) => {
      version.container_metadata = { tag: { name: 'v1.2.0' } }
    })

    const [push] = github.normalise(delivery('registry_package', body), SECRETS).pushes

    expect(push?.digest).toBe(INDEX)
  })

  it.each([
    [
      'its OCI labels alone',
      {
        all_labels: {
          'org.opencontainers.image.source': 'https://github.com/acme/tools',
          'org.opencontainers.image.revision': 'b'.repeat(40),
        },
      },
      { source: 'https://github.com/acme/tools', revision: 'b'.repeat(40) },
    ],
    [
      'a source without revision',
      { source: 'https://github.com/acme/tools' },
      { source: 'https://github.com/acme/tools', revision: null },
    ],
    ['no labels', {}, undefined],
    ['labels that are not text', { source: 7, revision: ['x'] }, undefined],
  ])('reads where the image says it comes from: %s', (_name, labels, expected) => {
    const body = changedVersion((version) => {
      version.container_metadata = { tag: { name: 'v1.2.0', digest: INDEX }, labels }
    })

    const [push] = github.normalise(delivery('registry_package', body), SECRETS).pushes

    expect(push?.labels).toEqual(expected)
  })

  // X-GitHub-Delivery is not signed: a captured delivery sent again under a new one is the same.
  it('uses a hash of the signed body as delivery id, whatever X-GitHub-Delivery says', () => {
    const raw = fixtureBytes('github-registry-package-published.json')
    const under = (id: string | undefined) =>
      github.normalise(
        delivery('registry_package', raw, { headers: { 'x-github-delivery': id } }),
        SECRETS,
      ).deliveryId
    const other = github.normalise(
      delivery('registry_package', fixtureBytes('github-registry-package-untagged.json')),
      SECRETS,
    ).deliveryId

    expect(under(DELIVERY)).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(under('11111111-2222-3333-4444-555555555555')).toBe(under(DELIVERY))
    expect(under(undefined)).toBe(under(DELIVERY))
    expect(other).not.toBe(under(DELIVERY))
  })

  it('rejects a package event that is not one, naming the part that is wrong', () => {
    const missing = thrownBy(() =>
      github.normalise(delivery('registry_package', { action: 'published' }), SECRETS),
    )
    expect(missing).toBeInstanceOf(SourcePayloadError)
    expect((missing as SourcePayloadError).pointer).toBe('/registry_package')
    expect((missing as Error).message).toBe(
      'expected a GitHub registry_package event: /registry_package is required',
    )

    const badTag = changedVersion((version) => {
      version.container_metadata = { tag: { name: 'v1 beta', digest: INDEX } }
    })
    const error = thrownBy(() => github.normalise(delivery('registry_package', badTag), SECRETS))
    expect((error as SourcePayloadError).pointer).toBe(
      '/registry_package/package_version/container_metadata/tag/name',
    )
  })

  it('rejects a delivery without an X-GitHub-Event header', () => {
    const request = fixtureDelivery('registry_package', 'github-registry-package-published.json', {
      headers: { 'x-github-event': undefined },
    })

    const error = thrownBy(() => github.normalise(request, SECRETS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as Error).message).toContain('X-GitHub-Event')
  })

  describe('authenticate', () => {
    const raw = fixtureBytes('github-registry-package-published.json')
    const withSignature = (signature: string | undefined) =>
      requestOf(raw, { headers: { 'x-hub-signature-256': signature } })

    it('accepts the HMAC-SHA256 of the exact bytes with sources.github.webhook_secret', () => {
      expect(() => github.authenticate(withSignature(sign(raw)), SECRETS)).not.toThrow()
    })

    it('rejects a signature computed over re-serialised JSON', () => {
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))))
      expect(reserialised.equals(raw)).toBe(false)

      const error = thrownBy(() => github.authenticate(withSignature(sign(reserialised)), SECRETS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('sources.github.webhook_secret')
      expect((error as Error).message).not.toContain(SECRETS.webhookSecret)
    })

    it('rejects a signature made with another secret or in another form', () => {
      const hex = createHmac('sha256', SECRETS.webhookSecret).update(raw).digest('hex')
      for (const signature of [
        sign(raw, 'other'),
        hex,
        `sha1=${hex}`,
        `sha256=${hex.toUpperCase()}`,
      ]) {
        expect(() => github.authenticate(withSignature(signature), SECRETS)).toThrow(
          SourceAuthError,
        )
      }
    })

    it('says what to configure when the delivery is unsigned', () => {
      const error = thrownBy(() => github.authenticate(withSignature(undefined), SECRETS))

      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('X-Hub-Signature-256')
    })
  })
})
