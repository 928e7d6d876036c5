import { createHash, createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { describe, expect, it } from 'vitest'
import { gitea } from '../../../src/relay/sources/gitea.js'
import {
  type AuthRequest,
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

const SECRET = 'gitea-secret-0123456789abcdef'
const SETTINGS = gitea.config.read({ secret: SECRET })

const GITEA_PUSH: PushEvent = {
  source: 'gitea',
  registry: 'gitea.acme.com',
  repository: 'acme/app',
  tag: 'v1.2.0',
  digest: null,
  pusher: 'ci-pusher',
  pushedAt: '2026-11-26T21:31:57.000Z',
  callbackUrl: null,
}

const sign = (body: Buffer, secret = SECRET) =>
  createHmac('sha256', secret).update(body).digest('hex')

function headersOf(name: string): IncomingHttpHeaders {
  return fixtureJson(name.replace(/\.json$/, '.headers.json')) as IncomingHttpHeaders
}

/** A delivery as Gitea (or Forgejo) sends it: the fixture's headers beside its exact bytes. */
function delivery(name: string, parts: RequestParts = {}): SourceRequest {
  return requestOf(fixtureBytes(name), {
    ...parts,
    headers: { ...headersOf(name), ...parts.headers },
  })
}

/** The created fixture with its package changed by `change`, sent with its headers. */
function packageWith(change: (pkg: Record<string, unknown>) => void): SourceRequest {
  const body = fixtureJson('gitea-package-created.json')
  change(body.package as Record<string, unknown>)
  return requestOf(body, { headers: headersOf('gitea-package-created.json') })
}

const bodyId = (name: string, at: string) =>
  `${at}/sha256:${createHash('sha256').update(fixtureBytes(name)).digest('hex')}`

describe('gitea source', () => {
  it("normalises a container package created with a tag, the registry being Gitea's host", () => {
    const result = gitea.normalise(delivery('gitea-package-created.json'), SETTINGS)

    expect(result).toEqual({
      deliveryId: bodyId('gitea-package-created.json', GITEA_PUSH.pushedAt),
      pushes: [GITEA_PUSH],
      ignored: null,
    })
  })

  it('normalises the same push from Forgejo', () => {
    const result = gitea.normalise(delivery('forgejo-package-created.json'), SETTINGS)

    expect(result.pushes).toEqual([{ ...GITEA_PUSH, registry: 'forgejo.acme.com' }])
  })

  it('takes the registry from the config when it is set', () => {
    const settings = gitea.config.read({ secret: SECRET, registry: 'Registry.Acme.com:8443' })

    const [push] = gitea.normalise(delivery('gitea-package-created.json'), settings).pushes

    expect(push?.registry).toBe('registry.acme.com:8443')
  })

  it('ignores the platform manifests of a multi-arch push, which are named by digest', () => {
    const result = gitea.normalise(delivery('gitea-package-created-digest.json'), SETTINGS)

    expect(result).toMatchObject({
      pushes: [],
      ignored: 'untagged manifest (Gitea sends one per platform of a multi-arch image)',
    })
  })

  it.each([
    ['gitea-package-deleted.json', 'Gitea package deleted events are not pushes'],
    ['gitea-package-npm.json', 'npm packages are not container images'],
  ])('ignores %s, saying why', (file, reason) => {
    const result = gitea.normalise(delivery(file), SETTINGS)

    expect(result.pushes).toEqual([])
    expect(result.ignored).toBe(reason)
  })

  it('ignores other events without reading their body, naming Forgejo when it sent them', () => {
    const push = requestOf({ ref: 'refs/heads/main' }, { headers: { 'x-gitea-event': 'push' } })
    const forgejo = requestOf(
      { ref: 'refs/heads/main' },
      { headers: { 'x-gitea-event': 'push', 'x-forgejo-event': 'push' } },
    )

    expect(gitea.normalise(push, SETTINGS).ignored).toBe('Gitea push events are not package events')
    expect(gitea.normalise(forgejo, SETTINGS).ignored).toBe(
      'Forgejo push events are not package events',
    )
  })

  it('lower-cases the repository, as Gitea stores it and image references need it', () => {
    const request = packageWith((pkg) => {
      pkg.name = 'Tools/Builder'
      ;(pkg.owner as Record<string, unknown>).login = 'Acme'
    })

    expect(gitea.normalise(request, SETTINGS).pushes[0]?.repository).toBe('acme/tools/builder')
  })

  it('gives a replay (same bytes, new delivery header) the same id, and a new push its own', () => {
    const first = gitea.normalise(delivery('gitea-package-created.json'), SETTINGS).deliveryId
    const replay = gitea.normalise(
      delivery('gitea-package-created.json', {
        headers: { 'x-gitea-delivery': '11111111-2222-4333-8444-555555555555' },
      }),
      SETTINGS,
    ).deliveryId
    const pushedAgain = gitea.normalise(
      packageWith((pkg) => {
        pkg.id = 43
        pkg.created_at = '2026-11-26T22:00:00Z'
      }),
      SETTINGS,
    ).deliveryId

    expect(replay).toBe(first)
    expect(pushedAgain).not.toBe(first)
  })

  it('falls back to the time of receipt and no pusher when the body lacks them', () => {
    const body = fixtureJson('gitea-package-created.json')
    ;(body.package as Record<string, unknown>).created_at = 'soon'
    body.sender = null

    const [push] = gitea.normalise(
      requestOf(body, { headers: headersOf('gitea-package-created.json') }),
      SETTINGS,
    ).pushes

    expect(push).toMatchObject({ pushedAt: RECEIVED_AT.toISOString(), pusher: null })
  })

  it('rejects a package event that is not one, naming the part that is wrong', () => {
    const headers = headersOf('gitea-package-created.json')
    const cases: [SourceRequest, string][] = [
      [requestOf({ action: 'created' }, { headers }), '/package'],
      [
        packageWith((pkg) => {
          pkg.version = 'v1 beta'
        }),
        '/package/version',
      ],
      [
        packageWith((pkg) => {
          pkg.name = 'app!'
        }),
        '/package/name',
      ],
      [
        packageWith((pkg) => {
          pkg.html_url = undefined
        }),
        '/package/html_url',
      ],
      [
        packageWith((pkg) => {
          pkg.html_url = 'https://user@gitea acme/x'
        }),
        '/package/html_url',
      ],
    ]
    for (const [request, pointer] of cases) {
      const error = thrownBy(() => gitea.normalise(request, SETTINGS))

      expect(error, pointer).toBeInstanceOf(SourcePayloadError)
      expect((error as SourcePayloadError).pointer).toBe(pointer)
    }
  })

  it('rejects a delivery without an event header', () => {
    const request = requestOf(fixtureBytes('gitea-package-created.json'))

    const error = thrownBy(() => gitea.normalise(request, SETTINGS))

    expect(error).toBeInstanceOf(SourcePayloadError)
    expect((error as Error).message).toContain('X-Gitea-Event')
  })

  describe('authenticate', () => {
    const raw = fixtureBytes('gitea-package-created.json')
    const withHeaders = (headers: IncomingHttpHeaders, body: Buffer | null = raw) =>
      ({ headers, pathSecret: null, rawBody: body }) satisfies AuthRequest

    it('asks for the body, then accepts the HMAC-SHA256 of its exact bytes in X-Gitea-Signature', () => {
      const headers = { 'x-gitea-signature': sign(raw) }

      expect(gitea.authenticate(withHeaders(headers, null), SETTINGS)).toBe('body-needed')
      expect(gitea.authenticate(withHeaders(headers), SETTINGS)).toBe('authenticated')
    })

    it("checks Forgejo's own header, and a bad one is not rescued by a good Gitea one", () => {
      const good = sign(raw)
      const bad = sign(raw, 'another-secret-0123456789')

      expect(
        gitea.authenticate(
          withHeaders({ 'x-forgejo-signature': good, 'x-gitea-signature': bad }),
          SETTINGS,
        ),
      ).toBe('authenticated')
      const error = thrownBy(() =>
        gitea.authenticate(
          withHeaders({ 'x-forgejo-signature': bad, 'x-gitea-signature': good }),
          SETTINGS,
        ),
      )
      expect(error).toBeInstanceOf(SourceAuthError)
      expect((error as Error).message).toContain('X-Forgejo-Signature does not match')
    })

    it('refuses a signature made with another secret, over other bytes or in another form', () => {
      const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))))
      for (const value of [
        sign(raw, 'another-secret-0123456789'),
        sign(reserialised),
        `sha256=${sign(raw)}`,
        createHmac('sha1', SECRET).update(raw).digest('hex'),
      ]) {
        const error = thrownBy(() =>
          gitea.authenticate(withHeaders({ 'x-gitea-signature': value }), SETTINGS),
        )

        expect(error, value).toBeInstanceOf(SourceAuthError)
        expect((error as Error).message).toContain('sources.gitea.secret')
        expect((error as Error).message).not.toContain(SECRET)
      }
    })

    it('says what to fix when the webhook has no secret, or sends a form', () => {
      const empty = thrownBy(() =>
        gitea.authenticate(withHeaders({ 'x-gitea-signature': '' }, null), SETTINGS),
      )
      expect(empty).toBeInstanceOf(SourceAuthError)
      expect((empty as Error).message).toBe(
        'X-Gitea-Signature is empty: the webhook has no Secret; set it to the secret of sources.gitea.secret',
      )

      const form = Buffer.from(new URLSearchParams({ payload: raw.toString('utf8') }).toString())
      const formError = thrownBy(() =>
        gitea.authenticate(
          withHeaders(
            {
              'x-gitea-signature': sign(raw),
              'content-type': 'application/x-www-form-urlencoded',
            },
            form,
          ),
          SETTINGS,
        ),
      )
      expect((formError as Error).message).toContain('POST content type application/json')
    })

    it('refuses a delivery without a signature, with it twice, or not hex, before the body', () => {
      for (const headers of [
        {},
        { 'x-gitea-signature': [sign(raw), sign(raw)] },
        { 'x-gitea-signature': SECRET },
        { 'x-hub-signature-256': `sha256=${sign(raw)}` },
      ]) {
        expect(() => gitea.authenticate(withHeaders(headers, null), SETTINGS)).toThrow(
          SourceAuthError,
        )
      }
    })

    it('never accepts the HMAC keyed with an empty secret', () => {
      expect(() =>
        gitea.authenticate(withHeaders({ 'x-gitea-signature': sign(raw, '') }), {
          ...SETTINGS,
          secret: '',
        }),
      ).toThrow(SourceAuthError)
    })
  })
})
