import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import { type EventRecord, TEST_SOURCE } from '../model/event.js'
import { globMatcher } from '../model/glob.js'
import { imageOf } from '../model/run.js'
import { isExclusion, tagFilter } from '../model/tag-patterns.js'
import type { PushEvent } from '../sources/types.js'
import { startRuns } from './effects.js'
import type { Intake } from './intake.js'
import { runFor } from './match.js'

/** The registry of test images: `.test` is reserved for tests (RFC 6761), so none is pulled by mistake. */
export const TEST_REGISTRY = 'registry.hookchain.test'
const FILLER = 'hookchain-test'
/** A repository path as registries take it: lower-case words joined by `.`, `_`, `-` and `/`. */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._-]|__|\/)[a-z0-9]+)*$/i

/** A glob's text with each wildcard filled in: `acme/*` → `acme/hookchain-test`, `v*` → `vhookchain-test`. */
function filled(pattern: string): string {
  return pattern
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\[([!^]?)([^\]]*)\]/g, (_, not: string, set: string) =>
      not
        ? ([...'abcdefghijklmnopqrstuvwxyz0123456789'].find((c) => !set.includes(c)) ?? 'a')
        : set.charAt(0),
    )
    .replace(/\*+/g, FILLER)
    .replace(/\?/g, 'x')
}

/**
 * A repository that `match.repository` takes (`acme/*` → `acme/hookchain-test`), without the
 * registry a pattern may pin: test images are all of the test registry.
 */
function testRepository(pattern: string): string {
  const matches = globMatcher(pattern, { nocase: true })
  const candidate = filled(pattern)
  const [first = '', ...rest] = candidate.split('/')
  const pinned = rest.length > 0 && (/[.:]/.test(first) || first === 'localhost')
  const repository = pinned ? rest.join('/') : candidate
  const taken = matches(candidate) && REPOSITORY.test(repository)
  return taken ? repository.toLowerCase() : `hookchain/${FILLER}`
}

/** A tag `match.tags` takes, such as `latest` or `vhookchain-test`; any tag when it has none. */
function testTag(patterns: readonly string[] | null): string {
  const takes = tagFilter(patterns)
  const candidates = [
    ...(patterns ?? []).filter((p) => !isExclusion(p)).map(filled),
    'latest',
    FILLER,
  ]
  return candidates.find((tag) => tag !== '' && takes(tag)) ?? FILLER
}

/**
 * A test event for one chain: a made-up push from the `test` source of an image the chain
 * matches, and its run of that chain alone, ready to be stored as any delivery is. Pure.
 */
export function takeInTest(chain: Chain, by: string, now: Date, chains: readonly Chain[]): Intake {
  const eventId = newId(now.getTime())
  const push: PushEvent = {
    source: TEST_SOURCE,
    registry: TEST_REGISTRY,
    repository: testRepository(chain.match.repository),
    tag: testTag(chain.match.tags),
    digest: null,
    pusher: by,
    pushedAt: now.toISOString(),
    callbackUrl: null,
  }
  const { runs, jobs } = startRuns([runFor(eventId, push, chain, now)], now, chains)
  const event: EventRecord = {
    id: eventId,
    source: TEST_SOURCE,
    deliveryId: `test:${eventId}`,
    receivedAt: now.toISOString(),
    outcome: 'started',
    reason: null,
    contentType: 'application/json',
    payload: JSON.stringify({ test: true, chain: chain.name, by, image: imageOf(push) }, null, 2),
    pushes: [push],
    runIds: runs.map((r) => r.id),
    duplicates: 0,
    lastDuplicateAt: null,
  }
  return { event, runs, jobs }
}
