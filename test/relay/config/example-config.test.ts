import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { loadSettings, parseSettings, settingsWarnings } from '../../../src/relay/config/load.js'

const example = fileURLToPath(new URL('../../../hookchain.yml', import.meta.url))

describe('the example hookchain.yml', () => {
  it('loads with no environment at all, as npm start on a fresh clone does', () => {
    const settings = loadSettings(example, {})
    // Left to the relay: its listening address, on whatever PORT says.
    expect(settings.publicUrl).toBeNull()
    expect(settings.adminToken).toBeNull()
    expect(settings.github.auth).toBeNull()
    expect(Object.keys(settings.sources)).toEqual([
      'dockerhub',
      'distribution',
      'github',
      'harbor',
      'quay',
      'cloudevents',
    ])
    expect(settings.chains.map((c) => c.name)).toEqual([
      'quickstart',
      'release',
      'worker-smoke-test',
      'gated-release',
    ])
    expect(settings.chains[0]?.steps).toEqual([
      { kind: 'webhook', url: 'http://localhost:9000/tests', secret: null },
      { kind: 'webhook', url: 'http://localhost:9000/deploy', secret: null },
    ])
    expect(settings.chains[1]?.match).toEqual({ repository: 'acme/app', tags: ['v*', 'latest'] })
    expect(settings.chains[1]?.steps.map((s) => s.kind)).toEqual([
      'dispatch',
      'dispatch',
      'webhook',
    ])
  })

  it('shows a chain beyond a line: a parallel group, an approval and on_failure', () => {
    const gated = loadSettings(example, {}).chains.find((c) => c.name === 'gated-release')
    expect(gated).toMatchObject({
      match: { repository: 'acme/api', tags: ['v*'] },
      steps: [
        {
          kind: 'parallel',
          require: 'all',
          branches: [
            { kind: 'dispatch', repository: 'acme/api-tests', eventType: 'image-pushed' },
            { kind: 'dispatch', repository: 'acme/ui-tests', eventType: 'image-pushed' },
          ],
        },
        { kind: 'approval', timeoutMs: 3 * 86_400_000 },
        { kind: 'dispatch', repository: 'acme/deploy', eventType: 'deploy' },
      ],
      onFailure: [{ kind: 'dispatch', repository: 'acme/deploy', eventType: 'rollback' }],
      notify: [],
    })
  })

  it('has a commented-out notify block that loads once uncommented, from the environment or not', () => {
    const text = readFileSync(example, 'utf8')
    const uncommented = text.replace(/^ {4}# (notify:| {2})/gm, '    $1')
    expect(uncommented).not.toBe(text)
    const notifyOf = (env: Record<string, string>) =>
      parseSettings(uncommented, { env, baseDir: '.' }).chains.find(
        (c) => c.name === 'gated-release',
      )?.notify
    expect(notifyOf({})).toEqual([
      {
        kind: 'slack',
        url: 'https://hooks.slack.com/services/T000/B000/change-me',
        on: ['failure', 'error', 'approval'],
      },
      {
        kind: 'webhook',
        url: 'https://ops.example.com/hookchain',
        secret: null,
        on: ['success', 'failure', 'error', 'cancelled', 'approval'],
      },
    ])
    const env = {
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0001/B0001/q8Rz3LmN0vT5wXy2Kp7Hd4Fs',
      OPS_HOOK_URL: 'https://ops.internal/hookchain',
      OPS_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    }
    expect(notifyOf(env)).toMatchObject([
      { kind: 'slack', url: env.SLACK_WEBHOOK_URL },
      { kind: 'webhook', url: env.OPS_HOOK_URL, secret: env.OPS_SECRET },
    ])
  })

  it('uses trial secrets that say so when no variables are set', () => {
    const { sources } = loadSettings(example, {})
    // Optional settings left out (sources.cloudevents.registry) read as null.
    const secrets = Object.values(sources)
      .flatMap((s) => Object.values(s as object))
      .filter((value) => value !== null)
    expect(secrets.length).toBeGreaterThanOrEqual(5)
    for (const secret of secrets) expect(secret).toMatch(/^local-.*-change-me$/)
  })

  it('warns about what is missing when no variables are set', () => {
    expect(settingsWarnings(loadSettings(example, {}))).toEqual([
      expect.stringContaining('admin_token is not set'),
      expect.stringContaining('github has neither token nor app'),
      expect.stringContaining('public_url is not set'),
    ])
  })

  it('takes every secret and URL from the environment when set', () => {
    const env = {
      HOOKCHAIN_PUBLIC_URL: 'https://relay.example.com/',
      HOOKCHAIN_ADMIN_TOKEN: 'admin-0123456789abcdef',
      GITHUB_API_URL: 'https://github.example.com/api/v3',
      GITHUB_TOKEN: 'github_pat_0123',
      DOCKERHUB_SECRET: 'dockerhub-0123456789abcdef',
      REGISTRY_TOKEN: 'registry-0123456789abcdef',
      GH_HOOK_SECRET: 'ghhook-0123456789abcdef',
      HARBOR_TOKEN: 'harbor-0123456789abcdef',
      QUAY_SECRET: 'quay-0123456789abcdef',
      CE_TOKEN: 'cloudevents-0123456789abcdef',
      CHANGELOG_HOOK_URL: 'https://changelog.internal/hook',
      CHANGELOG_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      STEP_RECEIVER_URL: 'http://127.0.0.1:9999',
    }
    const settings = loadSettings(example, env)
    expect(settings.publicUrl).toBe('https://relay.example.com')
    expect(settings.adminToken).toBe(env.HOOKCHAIN_ADMIN_TOKEN)
    expect(settings.github).toEqual({
      apiUrl: env.GITHUB_API_URL,
      auth: { kind: 'token', token: env.GITHUB_TOKEN },
      writesPerMinute: 80,
      oidc: { issuer: 'https://token.actions.githubusercontent.com', audience: 'hookchain' },
    })
    expect(settings.sources).toEqual({
      dockerhub: { secret: env.DOCKERHUB_SECRET },
      distribution: { token: env.REGISTRY_TOKEN },
      github: { webhookSecret: env.GH_HOOK_SECRET },
      harbor: { token: env.HARBOR_TOKEN },
      quay: { secret: env.QUAY_SECRET },
      cloudevents: { token: env.CE_TOKEN, registry: null },
    })
    expect(settings.chains[1]?.steps[2]).toEqual({
      kind: 'webhook',
      url: env.CHANGELOG_HOOK_URL,
      secret: env.CHANGELOG_SECRET,
    })
    expect(settings.chains[0]?.steps[0]).toMatchObject({ url: 'http://127.0.0.1:9999/tests' })
    expect(settingsWarnings(settings)).toEqual([])
  })
})
