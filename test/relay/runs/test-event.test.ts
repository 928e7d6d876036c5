import { describe, expect, it } from 'vitest'
import type { Chain } from '../../../src/relay/config/settings.js'
import { chainsFor } from '../../../src/relay/runs/match.js'
import { TEST_REGISTRY, takeInTest } from '../../../src/relay/runs/test-event.js'
import { release } from './run-fixture.js'

const at = new Date('2026-11-26T21:32:00Z')
const chain = (repository: string, tags: string[] | null): Chain => ({
  ...release,
  match: { repository, tags },
})

describe('a test event', () => {
  it.each<[string, string[] | null, string, string]>([
    ['acme/app', ['v*', 'latest'], 'acme/app', 'vhookchain-test'],
    ['acme/*', null, 'acme/hookchain-test', 'latest'],
    ['acme/**', ['latest', '!*-rc*'], 'acme/hookchain-test', 'latest'],
    ['docker.io/acme/*', ['v1.?'], 'acme/hookchain-test', 'v1.x'],
    ['ghcr.io/{acme,other}/app', ['!dev'], 'acme/app', 'latest'],
    ['**', ['!latest'], 'hookchain-test', 'hookchain-test'],
    ['acme/[^a]*', ['sha256-*.sig'], 'acme/bhookchain-test', 'sha256-hookchain-test.sig'],
    ['acme/app__', null, 'hookchain/hookchain-test', 'latest'],
  ])('of %s %j is an image of the test registry the chain takes', (repository, tags, name, tag) => {
    const tested = chain(repository, tags)
    const { event, runs, jobs } = takeInTest(tested, 'alice', at, [tested])
    const [push] = event.pushes
    expect(push).toEqual({
      source: 'test',
      registry: TEST_REGISTRY,
      repository: name,
      tag,
      digest: null,
      pusher: 'alice',
      pushedAt: at.toISOString(),
      callbackUrl: null,
    })
    expect(runs.map((r) => [r.chain, r.source, r.image.reference])).toEqual([
      ['release', 'test', `${TEST_REGISTRY}/${name}:${tag}`],
    ])
    expect(jobs).toEqual([expect.objectContaining({ kind: 'send', runId: runs[0]?.id })])
  })

  it('starts the chain asked for alone, even when others would match its image', () => {
    const other = { ...chain('**', null), name: 'everything' }
    const tested = chain('acme/app', null)
    const { event, runs } = takeInTest(tested, 'admin', at, [tested, other])
    expect(chainsFor(event.pushes[0] ?? ({} as never), [tested, other])).toHaveLength(2)
    expect(runs.map((r) => r.chain)).toEqual(['release'])
  })

  it('is recorded as a started delivery of the test source, once', () => {
    const tested = chain('acme/app', null)
    const first = takeInTest(tested, 'admin', at, [tested])
    const second = takeInTest(tested, 'admin', at, [tested])
    expect(first.event).toMatchObject({
      source: 'test',
      outcome: 'started',
      reason: null,
      runIds: first.runs.map((r) => r.id),
      duplicates: 0,
    })
    expect(JSON.parse(first.event.payload)).toMatchObject({
      test: true,
      chain: 'release',
      by: 'admin',
    })
    expect(first.event.deliveryId).not.toBe(second.event.deliveryId)
  })
})
