// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} in plain strings is the syntax under test
// biome-ignore-all lint/suspicious/noExplicitAny: each case edits some part of a config object on purpose
import { generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import {
  ConfigError,
  type ConfigProblem,
  formatConfigProblems,
  loadSettings,
  parseSettings,
} from '../../../src/relay/config/load.js'
import type { Settings } from '../../../src/relay/config/settings.js'

const SECRET = 'dockerhub-secret-0123456789'

/** A small valid config, as a plain object to change per case and write out as YAML. */
function validConfig(): Record<string, any> {
  return {
    public_url: 'https://relay.example.com',
    sources: { dockerhub: { secret: SECRET } },
    chains: [
      {
        name: 'release',
        match: { repository: 'acme/app' },
        steps: [{ dispatch: { repository: 'acme/tests', event_type: 'image-pushed' } }],
      },
    ],
  }
}

const APP_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString()

function parse(text: string, env: Record<string, string> = {}): Settings {
  return parseSettings(text, { env, baseDir: '/nonexistent', readFile: () => APP_KEY })
}

function problemsOf(text: string, env: Record<string, string> = {}): ConfigProblem[] {
  try {
    parse(text, env)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  throw new Error('expected the config to be rejected')
}

function withChange(change: (config: Record<string, any>) => void): string {
  const config = validConfig()
  change(config)
  return stringify(config)
}

describe('parseSettings', () => {
  it('reads tag exclusions, signature tag globs and the cloudevents source with its registry', () => {
    const settings = parse(
      withChange((c) => {
        c.chains[0].match.tags = ['v*', '!*-rc*', 'sha256-*.sig']
        c.sources.cloudevents = { token: SECRET, registry: '10.0.0.5:5000' }
      }),
    )

    expect(settings.chains[0]?.match.tags).toEqual(['v*', '!*-rc*', 'sha256-*.sig'])
    expect(settings.sources.cloudevents).toEqual({ token: SECRET, registry: '10.0.0.5:5000' })
  })

  it('applies the defaults to a minimal config', () => {
    expect(parse('public_url: http://localhost:8080/\n')).toEqual({
      publicUrl: 'http://localhost:8080',
      adminToken: null,
      github: {
        apiUrl: 'https://api.github.com',
        auth: null,
        writesPerMinute: 80,
        oidc: { issuer: 'https://token.actions.githubusercontent.com', audience: 'hookchain' },
      },
      sources: {},
      sourceBlocks: {},
      registryCallbacks: { allowedHosts: [], allowHttp: false },
      registries: [],
      chains: [],
      retentionMs: 90 * 86_400_000,
      rejectedPayloadMs: 7 * 86_400_000,
      runsPerDelivery: 100,
      metricsRequireAdmin: false,
      secrets: [],
    } satisfies Settings)
  })

  it('gives each chain a 30 minute step timeout and every tag unless told otherwise', () => {
    const [chain] = parse(stringify(validConfig())).chains
    expect(chain).toEqual({
      name: 'release',
      match: { repository: 'acme/app', tags: null },
      stepTimeoutMs: 30 * 60_000,
      steps: [{ kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' }],
      onFailure: [],
      notify: [],
      start: null,
      reportToCommit: null,
    })
  })

  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1s', 1_000],
  ])('reads a step_timeout of %s as %i ms', (text, ms) => {
    const settings = parse(withChange((c) => (c.chains[0].step_timeout = text)))
    expect(settings.chains[0]?.stepTimeoutMs).toBe(ms)
  })

  it.each([
    ['a Standard Webhooks secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    ['any other long secret', 'changelog secret: 0123456789'],
  ])('takes %s for a webhook step', (_name, secret) => {
    const text = withChange(
      (c) => (c.chains[0].steps = [{ webhook: { url: 'https://x.example.com', secret } }]),
    )
    expect(parse(text).chains[0]?.steps[0]).toEqual({
      kind: 'webhook',
      url: 'https://x.example.com',
      secret,
    })
  })

  it('shares parts between chains with anchors, aliases and merge keys', () => {
    const text = [
      'public_url: https://relay.example.com',
      'chains:',
      '  - &release',
      '    name: release',
      '    match: { repository: acme/app, tags: ["v*"] }',
      '    steps: &steps',
      '      - dispatch: { repository: acme/tests, event_type: image-pushed }',
      '  - <<: *release',
      '    name: release-worker',
      '    match: { repository: acme/worker }',
      '  - name: nightly',
      '    match: { repository: acme/app, tags: [nightly] }',
      '    steps: *steps',
    ].join('\n')
    const chains = parse(text).chains
    expect(chains.map((c) => [c.name, c.match.repository, c.steps.length])).toEqual([
      ['release', 'acme/app', 1],
      ['release-worker', 'acme/worker', 1],
      ['nightly', 'acme/app', 1],
    ])
  })

  it('rejects a document that is not a mapping', () => {
    expect(problemsOf('- public_url: https://relay.example.com\n')).toEqual([
      { path: '', message: 'must be a mapping (key: value)' },
    ])
  })

  it('rejects an empty file and says what it needs', () => {
    expect(problemsOf('# nothing yet\n')).toEqual([
      { path: '', message: expect.stringContaining('is empty: it needs at least a source') },
    ])
  })

  it('leaves public_url to the relay when the file leaves it out (the listening address)', () => {
    expect(parse(withChange((c) => delete c.public_url)).publicUrl).toBeNull()
    expect(parse('public_url: ${PUBLIC_URL:-}\nsources: {}\n').publicUrl).toBeNull()
    expect(
      parse('public_url: ${PUBLIC_URL:-}\n', { PUBLIC_URL: 'https://r.example.com/' }).publicUrl,
    ).toBe('https://r.example.com')
  })
})

describe('parseSettings rejects', () => {
  it.each<[string, (c: Record<string, any>) => void, string, string]>([
    [
      'a tag pattern that is an extglob',
      (c) => (c.chains[0].match.tags = ['v*', '!@(rc|beta)*']),
      'chains[0].match.tags[1]',
      '"!@(rc|beta)*" is not a usable glob: "(" is not taken',
    ],
    [
      'a repository glob whose braces make too many alternatives',
      (c) => (c.chains[0].match.repository = '{a,b}/{a,b}/{a,b}/{a,b}/{a,b}/{a,b}/{a,b}'),
      'chains[0].match.repository',
      'is not a usable glob: its braces expand to more than 64 alternatives',
    ],
    [
      'a relative public_url',
      (c) => (c.public_url = '/relay'),
      'public_url',
      'must be an absolute http(s) URL, like https://relay.example.com',
    ],
    [
      'an ftp public_url',
      (c) => (c.public_url = 'ftp://relay.example.com'),
      'public_url',
      'must be an absolute http(s) URL',
    ],
    [
      'a public_url with a query',
      (c) => (c.public_url = 'https://relay.example.com/?x=1'),
      'public_url',
      'must not have a ?query or #fragment',
    ],
    [
      'a public_url that does not parse',
      (c) => (c.public_url = 'https://exa mple.com'),
      'public_url',
      'must be an absolute http(s) URL',
    ],
    [
      'a public_url with a bad port',
      (c) => (c.public_url = 'https://relay.example.com:99999'),
      'public_url',
      'is not a valid URL',
    ],
    [
      'a misspelt top-level key',
      (c) => (c.chain = []),
      'chain',
      "unknown key 'chain' (did you mean chains?)",
    ],
    [
      'a misspelt chain key',
      (c) => (c.chains[0].step_timout = '5m'),
      'chains[0].step_timout',
      "unknown key 'step_timout' (did you mean step_timeout?)",
    ],
    [
      'a camelCase key',
      (c) => (c.github = { apiUrl: 'https://github.example.com' }),
      'github.apiUrl',
      "unknown key 'apiUrl' (did you mean api_url?)",
    ],
    [
      'a dashed key',
      (c) => (c.chains[0].steps[0].dispatch['event-type'] = 'x'),
      'chains[0].steps[0].dispatch.event-type',
      "unknown key 'event-type' (did you mean event_type?)",
    ],
    [
      'an unknown source',
      (c) => (c.sources.bitbucket = { token: SECRET }),
      'sources.bitbucket',
      "unknown key 'bitbucket' (allowed: dockerhub, distribution, github, harbor, quay, ",
    ],
    [
      'a source without its secret',
      (c) => (c.sources.quay = {}),
      'sources.quay.secret',
      'is required',
    ],
    [
      'a short source secret',
      (c) => (c.sources.dockerhub.secret = 'hunter2'),
      'sources.dockerhub.secret',
      'must be at least 16 characters: short secrets are guessable',
    ],
    [
      'a short webhook_secret',
      (c) => (c.sources.github = { webhook_secret: 'short' }),
      'sources.github.webhook_secret',
      'must be at least 16 characters',
    ],
    [
      'a short admin_token',
      (c) => (c.admin_token = 'admin'),
      'admin_token',
      'must be at least 16 characters',
    ],
    [
      'a chain name with a space',
      (c) => (c.chains[0].name = 'my release'),
      'chains[0].name',
      'must be 1 to 100 letters, digits, dots, underscores or dashes, starting with a letter or digit',
    ],
    [
      'a chain name starting with a dash',
      (c) => (c.chains[0].name = '-release'),
      'chains[0].name',
      'must be 1 to 100 letters',
    ],
    [
      'a chain name of 101 characters',
      (c) => (c.chains[0].name = 'a'.repeat(101)),
      'chains[0].name',
      'must be 1 to 100 letters',
    ],
    ['a chain without match', (c) => delete c.chains[0].match, 'chains[0].match', 'is required'],
    ['a chain without steps', (c) => delete c.chains[0].steps, 'chains[0].steps', 'is required'],
    [
      'a chain with no steps',
      (c) => (c.chains[0].steps = []),
      'chains[0].steps',
      'must list at least one step',
    ],
    [
      'an empty tag list',
      (c) => (c.chains[0].match.tags = []),
      'chains[0].match.tags',
      'must list at least one tag glob, or be left out',
    ],
    [
      'a tag glob with a space',
      (c) => (c.chains[0].match.tags = ['v 1']),
      'chains[0].match.tags[0]',
      'must be a tag or a glob over tags, like v* or latest',
    ],
    [
      'a lone "!" for a tag glob',
      (c) => (c.chains[0].match.tags = ['v*', '!']),
      'chains[0].match.tags[1]',
      'or one with a single leading ! for the tags to leave out, like !*-rc*',
    ],
    [
      'a tag glob with two leading "!"',
      (c) => (c.chains[0].match.tags = ['!!rc']),
      'chains[0].match.tags[0]',
      'a single leading !',
    ],
    [
      'a cloudevents registry with a scheme',
      (c) => (c.sources.cloudevents = { token: SECRET, registry: 'https://zot.acme.com:5000' }),
      'sources.cloudevents.registry',
      'must be a registry host with an optional port, like zot.acme.com or 10.0.0.5:5000 (no scheme, no path)',
    ],
    [
      'a cloudevents source without its token',
      (c) => (c.sources.cloudevents = { registry: 'zot.acme.com' }),
      'sources.cloudevents.token',
      'is required',
    ],
    [
      'a repository with a tag',
      (c) => (c.chains[0].match.repository = 'acme/app:v1'),
      'chains[0].match.repository',
      'must be a repository or a glob, like acme/app, acme/* or docker.io/acme/app (no scheme, no :tag)',
    ],
    [
      'a repository with a scheme',
      (c) => (c.chains[0].match.repository = 'https://docker.io/acme/app'),
      'chains[0].match.repository',
      'must be a repository or a glob',
    ],
    [
      'a step_timeout without a unit',
      (c) => (c.chains[0].step_timeout = 1800),
      'chains[0].step_timeout',
      'must be a duration such as 90s, 30m or 2h (a bare number has no unit)',
    ],
    [
      'a step_timeout in words',
      (c) => (c.chains[0].step_timeout = '30 minutes'),
      'chains[0].step_timeout',
      'must be a duration such as 90s, 30m or 2h',
    ],
    [
      'a step_timeout with units out of order',
      (c) => (c.chains[0].step_timeout = '30m1h'),
      'chains[0].step_timeout',
      'must be a duration such as 90s, 30m or 2h',
    ],
    [
      'a step_timeout of 0s',
      (c) => (c.chains[0].step_timeout = '0s'),
      'chains[0].step_timeout',
      'must be between 1s and 7d',
    ],
    [
      'a step_timeout over 7 days',
      (c) => (c.chains[0].step_timeout = '7d1s'),
      'chains[0].step_timeout',
      'must be between 1s and 7d',
    ],
    [
      'a step with both kinds',
      (c) => (c.chains[0].steps[0].webhook = { url: 'https://x.example.com' }),
      'chains[0].steps[0]',
      'must have only one of dispatch, webhook, parallel or approval: write each as its own step',
    ],
    [
      'a step with neither kind',
      (c) => (c.chains[0].steps = [{}]),
      'chains[0].steps[0]',
      'must have one of dispatch, webhook, parallel or approval',
    ],
    [
      'a step of an unknown kind',
      (c) => (c.chains[0].steps = [{ dispach: { repository: 'acme/x', event_type: 'x' } }]),
      'chains[0].steps[0].dispach',
      "unknown key 'dispach' (did you mean dispatch?)",
    ],
    [
      'a dispatch repository without an owner',
      (c) => (c.chains[0].steps[0].dispatch.repository = 'tests'),
      'chains[0].steps[0].dispatch.repository',
      'must be owner/name, like acme/app',
    ],
    [
      'a dispatch repository given as a URL',
      (c) => (c.chains[0].steps[0].dispatch.repository = 'https://github.com/acme/tests'),
      'chains[0].steps[0].dispatch.repository',
      'must be owner/name, like acme/app',
    ],
    [
      'a dispatch without event_type',
      (c) => delete c.chains[0].steps[0].dispatch.event_type,
      'chains[0].steps[0].dispatch.event_type',
      'is required',
    ],
    [
      'an empty event_type',
      (c) => (c.chains[0].steps[0].dispatch.event_type = ''),
      'chains[0].steps[0].dispatch.event_type',
      'must not be empty',
    ],
    [
      'an event_type over 100 characters',
      (c) => (c.chains[0].steps[0].dispatch.event_type = 'e'.repeat(101)),
      'chains[0].steps[0].dispatch.event_type',
      'must be at most 100 characters',
    ],
    [
      'a relative webhook url',
      (c) => (c.chains[0].steps = [{ webhook: { url: '/hook' } }]),
      'chains[0].steps[0].webhook.url',
      'must be an absolute http(s) URL',
    ],
    [
      'a webhook url with user info',
      (c) => (c.chains[0].steps = [{ webhook: { url: 'https://user:pw@x.example.com/' } }]),
      'chains[0].steps[0].webhook.url',
      'must be an absolute http(s) URL',
    ],
    [
      'a short webhook secret',
      (c) =>
        (c.chains[0].steps = [{ webhook: { url: 'https://x.example.com', secret: 'hunter2' } }]),
      'chains[0].steps[0].webhook.secret',
      'must be a Standard Webhooks secret (whsec_ and the base64 of at least 24 random bytes; generate one with: echo whsec_$(openssl rand -base64 32)) or any other string of at least 16 characters',
    ],
    [
      'a whsec_ webhook secret that is not base64',
      (c) =>
        (c.chains[0].steps = [
          { webhook: { url: 'https://x.example.com', secret: 'whsec_not base64 at all, sorry!' } },
        ]),
      'chains[0].steps[0].webhook.secret',
      'must be a Standard Webhooks secret',
    ],
    [
      'a whsec_ webhook secret of 18 bytes',
      (c) =>
        (c.chains[0].steps = [
          { webhook: { url: 'https://x.example.com', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZI' } },
        ]),
      'chains[0].steps[0].webhook.secret',
      'must be a Standard Webhooks secret',
    ],
    [
      'writes_per_minute over 5000',
      (c) => (c.github = { writes_per_minute: 5001 }),
      'github.writes_per_minute',
      'must be between 0 and 5000',
    ],
    [
      'a negative writes_per_minute',
      (c) => (c.github = { writes_per_minute: -1 }),
      'github.writes_per_minute',
      'must be between 0 and 5000',
    ],
    [
      'a fractional writes_per_minute',
      (c) => (c.github = { writes_per_minute: 1.5 }),
      'github.writes_per_minute',
      'must be a whole number',
    ],
    [
      'an empty github token',
      (c) => (c.github = { token: '' }),
      'github.token',
      'must not be empty',
    ],
    [
      'both a token and an app',
      (c) =>
        (c.github = {
          token: 'ghp_x',
          app: { app_id: 1, private_key_file: 'k.pem', installation_id: 2 },
        }),
      'github',
      'must have token or app, not both',
    ],
    [
      'an app without installation_id',
      (c) => (c.github = { app: { app_id: 1, private_key_file: 'k.pem' } }),
      'github.app.installation_id',
      'is required',
    ],
    [
      'an app_id of 0',
      (c) => (c.github = { app: { app_id: 0, private_key_file: 'k.pem', installation_id: 2 } }),
      'github.app.app_id',
      'must be at least 1',
    ],
    [
      'an api_url without a scheme',
      (c) => (c.github = { api_url: 'api.github.com' }),
      'github.api_url',
      'must be an absolute http(s) URL',
    ],
    [
      'an allowed host written as a URL',
      (c) => (c.registry_callbacks = { allowed_hosts: ['https://registry.hub.docker.com'] }),
      'registry_callbacks.allowed_hosts[0]',
      'must be a host name such as registry.hub.docker.com (no scheme, no path)',
    ],
    [
      'allow_http spelt yes',
      (c) => (c.registry_callbacks = { allow_http: 'yes' }),
      'registry_callbacks.allow_http',
      'must be true or false',
    ],
    [
      'allowed_hosts as one string',
      (c) => (c.registry_callbacks = { allowed_hosts: 'registry.hub.docker.com' }),
      'registry_callbacks.allowed_hosts',
      'must be a list (- item lines, or [a, b])',
    ],
    [
      'a retention under an hour',
      (c) => (c.retention = { max_age: '30m' }),
      'retention.max_age',
      'must be at least 1h',
    ],
    [
      'a retention in months',
      (c) => (c.retention = { max_age: '1mo' }),
      'retention.max_age',
      'must be a duration such as 90d or 2160h, or forever',
    ],
    [
      'chains as a mapping',
      (c) => (c.chains = { release: c.chains[0] }),
      'chains',
      'must be a list',
    ],
    ['a chain that is a string', (c) => (c.chains = ['release']), 'chains[0]', 'must be a mapping'],
    [
      'a source registry written as a URL',
      (c) => (c.sources.nexus = { secret: SECRET, registry: 'https://nexus.acme.com:8443' }),
      'sources.nexus.registry',
      'must be a registry host with an optional port, as an image reference starts',
    ],
    [
      'a source without the registry its payloads leave out',
      (c) => (c.sources.artifactory = { secret: SECRET }),
      'sources.artifactory.registry',
      'is required',
    ],
    [
      'a repository address with a scheme',
      (c) =>
        (c.sources.artifactory = {
          secret: SECRET,
          registry: 'acme.jfrog.io',
          repositories: { 'docker-local': 'https://docker-local.acme.com' },
        }),
      'sources.artifactory.repositories.docker-local',
      'must be what an image reference starts with',
    ],
    [
      'an OIDC issuer over plain http on another machine',
      (c) => (c.github = { oidc: { issuer: 'http://token.example.com' } }),
      'github.oidc.issuer',
      'must be an https URL without query or fragment',
    ],
    [
      'an OIDC audience with a space',
      (c) => (c.github = { oidc: { audience: 'hook chain' } }),
      'github.oidc.audience',
      'must be one word, without spaces',
    ],
    [
      'a registry written as a URL',
      (c) => (c.registries = [{ host: 'https://registry.example.com' }]),
      'registries[0].host',
      'must be a registry host such as registry.example.com:5000',
    ],
    [
      'a registry username without its password',
      (c) => (c.registries = [{ host: 'registry.example.com', username: 'reader' }]),
      'registries[0].password',
      'is required with username',
    ],
    [
      'a registry password without a username',
      (c) => (c.registries = [{ host: 'registry.example.com', password: SECRET }]),
      'registries[0].username',
      'is required with password',
    ],
    [
      'a registry listed twice',
      (c) => (c.registries = [{ host: 'Registry.example.com' }, { host: 'registry.example.com' }]),
      'registries[1].host',
      "'registry.example.com' is already the host of registries[0]",
    ],
    [
      'a start repository without an owner',
      (c) => (c.chains[0].start = { repositories: ['app'] }),
      'chains[0].start.repositories[0]',
      'must be owner/name or a glob over them',
    ],
    [
      'a start without repositories',
      (c) => (c.chains[0].start = { repositories: [] }),
      'chains[0].start.repositories',
      'must list at least one repository',
    ],
    [
      'a status context with an unknown placeholder',
      (c) => (c.chains[0].report_to_commit = { context: 'ci/{repository}/{step}' }),
      'chains[0].report_to_commit.context',
      'has the placeholder {repository}: only {chain} and {step} are replaced',
    ],
  ])('%s', (_name, change, path, message) => {
    expect(problemsOf(withChange(change))).toEqual([
      { path, message: expect.stringContaining(message) },
    ])
  })

  it('two chains with the same name, naming the first', () => {
    const text = withChange((c) => c.chains.push({ ...c.chains[0] }))
    expect(problemsOf(text)).toEqual([
      {
        path: 'chains[1].name',
        message: "'release' is already the name of chains[0]: chain names must be unique",
      },
    ])
  })

  it('the wrong key for a source secret, and the missing right one', () => {
    expect(problemsOf(withChange((c) => (c.sources.dockerhub = { token: SECRET })))).toEqual([
      { path: 'sources.dockerhub.secret', message: 'is required' },
      { path: 'sources.dockerhub.token', message: "unknown key 'token' (allowed: secret)" },
    ])
  })

  it('a key with no value', () => {
    expect(problemsOf('public_url: https://relay.example.com\nadmin_token:\n')).toEqual([
      { path: 'admin_token', message: 'has no value: give it one, or remove the key' },
    ])
  })

  it('an empty list item', () => {
    const text =
      'public_url: https://relay.example.com\nregistry_callbacks:\n  allowed_hosts:\n    -\n'
    expect(problemsOf(text)).toEqual([
      {
        path: 'registry_callbacks.allowed_hosts[0]',
        message: 'is an empty list item: give it a value, or remove the -',
      },
    ])
  })

  it('a version number that YAML reads as a number, saying to quote it', () => {
    const text = withChange((c) => (c.chains[0].match.tags = ['__TAG__'])).replace(
      '__TAG__',
      '1.10',
    )
    expect(problemsOf(text)).toEqual([
      {
        path: 'chains[0].match.tags[0]',
        message: 'must be text, but YAML read 1.1 as a number: put the value in quotes',
      },
    ])
  })

  it('every problem at once, in the order of the file', () => {
    const text = [
      'public_url: relay.example.com',
      'admin_token: short',
      'sources:',
      '  dockerhub: { secrit: dockerhub-secret-0123456789 }',
      'chains:',
      '  - name: release',
      '    match: { repository: acme/app }',
      '    step_timeout: 2w',
      '    steps:',
      '      - dispatch: { repository: acme, event_type: go }',
      '  - name: release',
      '    match: { repository: acme/app }',
      '    steps: []',
    ].join('\n')
    expect(problemsOf(text).map((p) => `${p.path}: ${p.message.split(' (')[0]}`)).toEqual([
      'public_url: must be an absolute http(s) URL, like https://relay.example.com',
      'admin_token: must be at least 16 characters: short secrets are guessable',
      'sources.dockerhub.secret: is required',
      "sources.dockerhub.secrit: unknown key 'secrit'",
      'chains[0].step_timeout: must be a duration such as 90s, 30m or 2h',
      'chains[0].steps[0].dispatch.repository: must be owner/name, like acme/app',
      "chains[1].name: 'release' is already the name of chains[0]: chain names must be unique",
      'chains[1].steps: must list at least one step',
    ])
  })
})

describe('YAML syntax errors', () => {
  it('are reported with their line and column', () => {
    const problems = problemsOf('public_url: https://relay.example.com\nchains:\n  - name: a: b\n')
    expect(problems).toEqual([
      {
        path: '',
        message: 'line 3, column 11: Nested mappings are not allowed in compact mappings',
        line: 3,
        column: 11,
      },
    ])
  })

  it('name the duplicate key', () => {
    const problems = problemsOf(
      'public_url: https://a.example.com\npublic_url: https://b.example.com\n',
    )
    expect(problems).toMatchObject([
      { line: 2, column: 1, message: expect.stringContaining('Map keys must be unique') },
    ])
  })

  it('say to quote ${…} inside a flow mapping, once per line', () => {
    const text =
      'public_url: https://relay.example.com\nsources:\n  dockerhub: { secret: ${DOCKERHUB_SECRET} }\n'
    const problems = problemsOf(text, { DOCKERHUB_SECRET: SECRET })
    expect(problems).toHaveLength(1)
    expect(problems[0]?.line).toBe(3)
    expect(problems[0]?.message).toContain(
      'inside { } or [ ], put ${…} in quotes: secret: "${DOCKERHUB_SECRET}"',
    )
  })
})

describe('${NAME} substitution', () => {
  const text = (value: string) =>
    `public_url: https://relay.example.com\ngithub:\n  token: ${value}\n`
  const tokenOf = (settings: Settings) => {
    const auth = settings.github.auth
    return auth?.kind === 'token' ? auth.token : null
  }

  it('uses the value of a set variable', () => {
    expect(tokenOf(parse(text('${GITHUB_TOKEN}'), { GITHUB_TOKEN: 'ghp_abc' }))).toBe('ghp_abc')
  })

  it('reports an unset variable at its path, saying how to give a default', () => {
    expect(problemsOf(text('${GITHUB_TOKEN}'))).toEqual([
      {
        path: 'github.token',
        message: 'environment variable GITHUB_TOKEN is not set (or write ${GITHUB_TOKEN:-default})',
      },
    ])
  })

  it.each([
    ['unset', {}],
    ['empty', { GITHUB_TOKEN: '' }],
  ])('uses the default when the variable is %s', (_name, env) => {
    expect(tokenOf(parse(text('${GITHUB_TOKEN:-ghp_default}'), env))).toBe('ghp_default')
  })

  it('treats a value that is only ${NAME:-} and comes out empty as absent', () => {
    const settings = parse(
      'public_url: https://relay.example.com\nadmin_token: ${HOOKCHAIN_ADMIN_TOKEN:-}\ngithub:\n  token: ${GITHUB_TOKEN:-}\n',
    )
    expect(settings.adminToken).toBeNull()
    expect(settings.github.auth).toBeNull()
  })

  it('keeps an empty ${NAME} as an empty value, and says where it came from', () => {
    expect(problemsOf(text('${GITHUB_TOKEN}'), { GITHUB_TOKEN: '' })).toEqual([
      { path: 'github.token', message: 'must not be empty (value from GITHUB_TOKEN)' },
    ])
  })

  it('replaces references inside a longer string', () => {
    const settings = parse('public_url: ${SCHEME:-https}://${HOST}/relay/\n', {
      HOST: 'relay.example.com',
    })
    expect(settings.publicUrl).toBe('https://relay.example.com/relay')
  })

  it('reads $${ as a literal ${', () => {
    expect(tokenOf(parse(text('"$${NOT_A_VARIABLE}"')))).toBe('${NOT_A_VARIABLE}')
  })

  it('keeps a value that contains YAML syntax a plain string', () => {
    const value = 'x0123456789abcdef"\nchains: [{name: evil}]\n- {admin_token: y}\n#'
    const settings = parse(
      'public_url: https://relay.example.com\nsources:\n  dockerhub:\n    secret: ${DOCKERHUB_SECRET}\n',
      { DOCKERHUB_SECRET: value },
    )
    expect(settings.sources.dockerhub).toEqual({ secret: value })
    expect(settings.chains).toEqual([])
    expect(settings.adminToken).toBeNull()
  })

  it('reads a variable as a number or a boolean where the schema wants one', () => {
    const settings = parse(
      'public_url: https://relay.example.com\ngithub:\n  writes_per_minute: ${WRITES}\nregistry_callbacks:\n  allow_http: ${ALLOW_HTTP:-false}\n',
      { WRITES: '120', ALLOW_HTTP: 'true' },
    )
    expect(settings.github.writesPerMinute).toBe(120)
    expect(settings.registryCallbacks.allowHttp).toBe(true)
  })

  it('says which variable held a value of the wrong type', () => {
    expect(
      problemsOf(
        'public_url: https://relay.example.com\ngithub:\n  writes_per_minute: ${WRITES}\n',
        {
          WRITES: 'fast',
        },
      ),
    ).toEqual([
      { path: 'github.writes_per_minute', message: 'must be a whole number (value from WRITES)' },
    ])
  })

  it('says when a bad value is the default of a reference', () => {
    expect(problemsOf('public_url: ${URL:-localhost:8080}\n')).toEqual([
      {
        path: 'public_url',
        message:
          'must be an absolute http(s) URL, like https://relay.example.com (value from the default in ${URL:-…})',
      },
    ])
  })

  it('leaves keys alone', () => {
    expect(
      problemsOf('public_url: https://relay.example.com\n${KEY}: x\n', { KEY: 'admin_token' }),
    ).toEqual([{ path: '["${KEY}"]', message: expect.stringContaining("unknown key '${KEY}'") }])
  })

  it.each([
    [
      'a name with a space (in a secret, so not quoted)',
      '${GITHUB TOKEN}',
      'has a ${…}, which is not a variable reference',
    ],
    [
      'a name starting with a digit (in a secret, so not quoted)',
      '${1TOKEN}',
      'has a ${…}, which is not a variable reference',
    ],
    ['an unclosed reference', '${GITHUB_TOKEN', 'has a ${ without its closing }'],
  ])('reports %s', (_name, value, message) => {
    expect(problemsOf(text(`"${value}"`))).toEqual([
      { path: 'github.token', message: expect.stringContaining(message) },
    ])
  })

  it('reports every unset variable, and nothing else about their values', () => {
    const problems = problemsOf(
      'public_url: ${PUBLIC_URL}\nadmin_token: ${ADMIN_TOKEN}\nsources:\n  quay:\n    secret: ${QUAY_SECRET}\n',
    )
    expect(problems.map((p) => p.path)).toEqual([
      'public_url',
      'admin_token',
      'sources.quay.secret',
    ])
    expect(problems.every((p) => p.message.includes('is not set'))).toBe(true)
  })
})

describe('every key', () => {
  let dir: string
  let pem: string

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-config-'))
    pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    }) as string
    mkdirSync(join(dir, 'keys'))
    writeFileSync(join(dir, 'keys', 'app.pem'), pem)
    const fixture = new URL('../../fixtures/config/every-key.yml', import.meta.url)
    writeFileSync(join(dir, 'hookchain.yml'), readFileSync(fixture))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('maps to Settings, reading the App key relative to the config file', () => {
    expect(loadSettings(join(dir, 'hookchain.yml'), {})).toEqual({
      publicUrl: 'https://Relay.example.com/hookchain',
      adminToken: 'admin-token-0123456789abcdef',
      github: {
        apiUrl: 'https://github.example.com/api/v3',
        auth: { kind: 'app', appId: '123456', privateKey: pem, installationId: 7890123 },
        writesPerMinute: 30,
        oidc: {
          issuer: 'https://github.example.com/_services/token',
          audience: 'relay.example.com',
        },
      },
      sources: {
        dockerhub: { secret: 'dockerhub-secret-0123456789' },
        distribution: { token: 'registry-token-0123456789' },
        github: { webhookSecret: 'github-secret-0123456789' },
        harbor: { token: 'harbor-token-0123456789' },
        quay: { secret: 'quay-secret-0123456789' },
      },
      sourceBlocks: {
        dockerhub: { secret: 'dockerhub-secret-0123456789' },
        distribution: { token: 'registry-token-0123456789' },
        github: { webhook_secret: 'github-secret-0123456789' },
        harbor: { token: 'harbor-token-0123456789' },
        quay: { secret: 'quay-secret-0123456789' },
      },
      registryCallbacks: {
        allowedHosts: ['registry.hub.docker.com', 'registry.example.com:5000'],
        allowHttp: true,
      },
      registries: [
        {
          host: 'registry.example.com:5000',
          username: 'reader',
          password: 'registry-password-0123456789',
          http: true,
        },
        { host: 'ghcr.io', username: null, password: null, http: false },
      ],
      chains: [
        {
          name: 'release',
          match: { repository: 'acme/app', tags: ['v*', 'latest'] },
          stepTimeoutMs: 90 * 60_000,
          onFailure: [],
          notify: [],
          start: { repositories: ['acme/app', 'acme/app-*'] },
          reportToCommit: { context: 'deploy/{chain}/{step}' },
          steps: [
            { kind: 'dispatch', repository: 'acme/integration-tests', eventType: 'image-pushed' },
            {
              kind: 'webhook',
              url: 'https://changelog.example.com/hook?team=1',
              secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
            },
          ],
        },
        {
          name: 'nightly.build_2',
          match: { repository: 'docker.io/acme/*', tags: null },
          stepTimeoutMs: 30 * 60_000,
          onFailure: [],
          notify: [],
          start: null,
          reportToCommit: { context: 'hookchain/{chain}/{step}' },
          steps: [{ kind: 'webhook', url: 'http://10.0.0.5:8080/hook', secret: null }],
        },
      ],
      retentionMs: 30 * 86_400_000,
      rejectedPayloadMs: 7 * 86_400_000,
      runsPerDelivery: 100,
      metricsRequireAdmin: false,
      secrets: [
        'admin-token-0123456789abcdef',
        'dockerhub-secret-0123456789',
        'registry-token-0123456789',
        'github-secret-0123456789',
        'harbor-token-0123456789',
        'quay-secret-0123456789',
        'registry-password-0123456789',
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        pem,
      ],
    } satisfies Settings)
  })

  const appConfig = (keyFile: string, appId = '123456') =>
    `public_url: https://relay.example.com\ngithub:\n  app:\n    app_id: ${appId}\n    private_key_file: ${keyFile}\n    installation_id: 42\n`

  it('takes an App key path from the environment and a Client ID as app_id', () => {
    const settings = parseSettings(appConfig('${KEY_FILE}', 'Iv23liABCDEF'), {
      env: { KEY_FILE: join(dir, 'keys', 'app.pem') },
      baseDir: '/elsewhere',
    })
    expect(settings.github.auth).toEqual({
      kind: 'app',
      appId: 'Iv23liABCDEF',
      privateKey: pem,
      installationId: 42,
    })
  })

  it('reads the key through the readFile it is given, from baseDir', () => {
    const read: string[] = []
    parseSettings(appConfig('secrets/app.pem'), {
      env: {},
      baseDir: '/etc/hookchain',
      readFile: (path) => {
        read.push(path)
        return pem
      },
    })
    expect(read).toEqual(['/etc/hookchain/secrets/app.pem'])
  })

  it('reports a missing key file at private_key_file', () => {
    expect(() => parseSettings(appConfig('missing.pem'), { env: {}, baseDir: dir })).toThrow(
      expect.objectContaining({
        problems: [
          {
            path: 'github.app.private_key_file',
            message: expect.stringMatching(/^cannot read .*missing\.pem: ENOENT/),
          },
        ],
      }),
    )
  })

  it('reports a key file that is not a private key', () => {
    writeFileSync(
      join(dir, 'not-a-key.pem'),
      '-----BEGIN RSA PRIVATE KEY-----\nbroken\n-----END RSA PRIVATE KEY-----\n',
    )
    let problems: ConfigProblem[] = []
    try {
      parseSettings(appConfig('not-a-key.pem'), { env: {}, baseDir: dir })
    } catch (error) {
      if (error instanceof ConfigError) problems = error.problems
    }
    expect(problems).toEqual([
      {
        path: 'github.app.private_key_file',
        message: expect.stringContaining('not-a-key.pem is not a PEM private key'),
      },
    ])
    expect(problems[0]?.message).not.toContain('broken')
  })
})

describe('loadSettings', () => {
  it('says when the file cannot be read', () => {
    expect(() => loadSettings('/nonexistent/hookchain.yml', {})).toThrow(
      /\/nonexistent\/hookchain\.yml: cannot be read: ENOENT/,
    )
  })
})

describe('formatConfigProblems', () => {
  it('writes one line per problem, naming the file', () => {
    expect(
      formatConfigProblems('hookchain.yml', [
        { path: 'chains[0].name', message: 'must be …' },
        { path: '', message: 'line 3, column 5: Unexpected token' },
      ]),
    ).toBe(
      'hookchain.yml: chains[0].name: must be …\nhookchain.yml: line 3, column 5: Unexpected token',
    )
  })

  it('is the message of a ConfigError', () => {
    const error = new ConfigError([{ path: 'public_url', message: 'is required' }], 'hookchain.yml')
    expect(error.message).toBe(
      'hookchain.yml has 1 problem:\nhookchain.yml: public_url: is required',
    )
    expect(error).toBeInstanceOf(Error)
  })
})

describe('a config problem at a secret', () => {
  /** Everything `check` and `serve` would print for the text: the problems, formatted. */
  function printed(text: string, env: Record<string, string> = {}): string {
    try {
      parse(text, env)
    } catch (error) {
      if (error instanceof ConfigError) return formatConfigProblems('hookchain.yml', error.problems)
      throw error
    }
    throw new Error('the config was accepted')
  }
  const base = 'public_url: https://relay.example.com\n'

  it.each([
    [
      'a number where text goes',
      'admin_token: 98765432109876543210987\n',
      ['98765432109876543210987', '9.876543210987654e+22', '98765432109876540000000'],
    ],
    [
      'a long number in a source',
      'sources:\n  dockerhub:\n    secret: 1234567890123456789\n',
      ['1234567890123456789', '1234567890123456800'],
    ],
    ['a GitHub token as a number', 'github:\n  token: 4242424242424242\n', ['4242424242424242']],
    [
      'a malformed ${…} in a secret',
      'sources:\n  quay:\n    secret: "hunter2-${not a name}-hunter2"\n',
      ['hunter2', 'not a name'],
    ],
    [
      'a webhook secret of the wrong form',
      'chains:\n  - name: c\n    match: { repository: a/b }\n    steps:\n      - webhook: { url: "https://h.example/x", secret: "whsec_!!!hunter2hunter2" }\n',
      ['hunter2'],
    ],
  ])('never prints the value: %s', (_, text, forbidden) => {
    const output = printed(base + text)
    expect(output).toMatch(/admin_token|secret|token/)
    for (const value of forbidden) expect(output).not.toContain(value)
  })

  it('still names a plain value where it is not a secret', () => {
    expect(printed(`${base}github:\n  api_url: 12345\n`)).toContain('12345')
  })
})
