import { describe, expect, it } from 'vitest'
import type { Settings } from '../../../src/relay/config/settings.js'
import { publicUrlPortWarning, settingsWarnings } from '../../../src/relay/config/warnings.js'

function settings(change: Partial<Settings> = {}): Settings {
  return {
    publicUrl: 'https://relay.example.com',
    adminToken: 'admin-0123456789abcdef',
    github: {
      apiUrl: 'https://api.github.com',
      auth: { kind: 'token', token: 't' },
      writesPerMinute: 80,
    },
    sources: { dockerhub: { secret: 'dockerhub-0123456789abcdef' } },
    sourceBlocks: { dockerhub: { secret: 'dockerhub-0123456789abcdef' } },
    registryCallbacks: { allowedHosts: [], allowHttp: false },
    secrets: [],

    chains: [
      {
        name: 'release',
        match: { repository: 'acme/app', tags: null },
        stepTimeoutMs: 1_800_000,
        onFailure: [],
        notify: [],
        steps: [{ kind: 'dispatch', repository: 'acme/tests', eventType: 'go' }],
      },
    ],
    retentionMs: null,
    rejectedPayloadMs: 7 * 86_400_000,
    runsPerDelivery: 100,
    metricsRequireAdmin: false,
    ...change,
  }
}

describe('settingsWarnings', () => {
  it('has nothing to say about a complete config', () => {
    expect(settingsWarnings(settings())).toEqual([])
  })

  it.each<[string, Partial<Settings>, string]>([
    [
      'no admin token',
      { adminToken: null },
      'admin_token is not set: /api and the pages answer only loopback requests',
    ],
    [
      'no GitHub credentials with a dispatch step',
      { github: { apiUrl: 'https://api.github.com', auth: null, writesPerMinute: 80 } },
      'github has neither token nor app: the dispatch steps of release will end as error',
    ],
    [
      'registry callbacks over plain HTTP',
      { registryCallbacks: { allowedHosts: [], allowHttp: true } },
      'registry_callbacks.allow_http is true',
    ],
    [
      'a registry read over plain HTTP',
      {
        registries: [{ host: 'registry.lan:5000', username: null, password: null, http: true }],
      },
      'registries registry.lan:5000 are read over plain HTTP (http: true)',
    ],
    ['no source', { sources: {} }, 'sources is empty: no registry can send events to this relay'],
    ['no chain', { chains: [] }, 'chains is empty: every event is recorded as unmatched'],
    [
      'a plain http public_url off this machine',
      { publicUrl: 'http://relay.example.com' },
      'public_url is plain http on relay.example.com',
    ],
  ])('warns about %s', (_name, change, warning) => {
    expect(settingsWarnings(settings(change))).toEqual([expect.stringContaining(warning)])
  })

  it.each([
    [['sha256*'], ['sha256*']],
    [['v*', '*-*', '!*-rc*'], ['*-*']],
    [['*'], []],
    [['**', '?*'], []],
    [['sha256-*', '*.sig', 'sha256-*.att'], []],
    [['v*', 'latest', '!sha256*'], []],
  ])('explains tag patterns %j that match signature tags without naming them', (tags, flagged) => {
    const chain = settings().chains[0] as Settings['chains'][number]
    const warnings = settingsWarnings(
      settings({ chains: [{ ...chain, match: { repository: 'acme/app', tags } }] }),
    )

    expect(warnings).toEqual(
      flagged.map(
        (pattern) =>
          `chains[0].match.tags: "${pattern}" matches tags of signatures, attestations and SBOMs (sha256-<digest>.sig) without naming them, so they start nothing on release; to take them, write a pattern that starts with sha256- or ends in .sig, .att or .sbom`,
      ),
    )
  })

  it('warns that commit statuses need GitHub credentials, even for a chain of webhooks', () => {
    const chain = settings().chains[0] as Settings['chains'][number]
    const warnings = settingsWarnings(
      settings({
        github: { apiUrl: 'https://api.github.com', auth: null, writesPerMinute: 80 },
        chains: [
          {
            ...chain,
            steps: [{ kind: 'webhook', url: 'https://ci.example.com/hook', secret: null }],
            reportToCommit: { context: 'hookchain/{chain}/{step}' },
          },
        ],
      }),
    )
    expect(warnings).toEqual([
      'github has neither token nor app: the commit statuses of release will be refused until credentials with Commit statuses: write are configured',
    ])
  })

  it('does not mind missing GitHub credentials when every step is a webhook', () => {
    const chains = settings().chains.map((chain) => ({
      ...chain,
      steps: [{ kind: 'webhook' as const, url: 'https://x.example.com', secret: null }],
    }))
    const github = { apiUrl: 'https://api.github.com', auth: null, writesPerMinute: 80 }
    expect(settingsWarnings(settings({ chains, github }))).toEqual([])
  })

  it.each(['http://localhost:8080', 'http://127.0.0.1:8080', 'http://[::1]:8080'])(
    'does not mind plain http on this machine: %s',
    (publicUrl) => {
      expect(settingsWarnings(settings({ publicUrl }))).toEqual([])
    },
  )

  it('says where callback URLs lead when public_url is not set', () => {
    expect(settingsWarnings(settings({ publicUrl: null }))).toEqual([
      expect.stringContaining(
        "public_url is not set: callback URLs start with the relay's listening address",
      ),
    ])
  })
})

describe('publicUrlPortWarning', () => {
  it.each<[string | null, number, string | null]>([
    [null, 8080, null],
    ['http://localhost:8080', 8080, null],
    ['https://relay.example.com', 8080, null],
    ['http://relay.internal:8080', 9090, null],
    ['http://localhost', 80, null],
    [
      'http://localhost:8080',
      9090,
      'names port 8080 of this machine, but the relay listens on port 9090',
    ],
    ['http://127.0.0.1', 9090, 'names port 80 of this machine'],
    ['https://localhost/relay', 9090, 'names port 443 of this machine'],
    ['http://[::1]:8080', 9090, 'set public_url to http://[::1]:9090, or leave it out'],
  ])('public_url %s, listening on %i', (publicUrl, port, warning) => {
    const said = publicUrlPortWarning(publicUrl, port)
    if (warning === null) expect(said).toBeNull()
    else expect(said).toContain(warning)
  })
})
