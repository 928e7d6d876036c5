import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import { globMatcher } from '../model/glob.js'
import { imageOf, type Run } from '../model/run.js'
import { tagFilter } from '../model/tag-patterns.js'
import type { PushEvent } from '../sources/types.js'
import { stepsOf } from './steps.js'

type Matcher = (push: PushEvent) => boolean
const matchers = new WeakMap<Chain, Matcher>()

/**
 * `match.repository` is a glob over `acme/app` or, to pin a registry, over `docker.io/acme/app`;
 * `match.tags` as `tagFilter` says; a chain without tags also takes pushes by digest alone.
 */
function matcherFor(chain: Chain): Matcher {
  let matcher = matchers.get(chain)
  if (!matcher) {
    const repository = globMatcher(chain.match.repository, { nocase: true })
    const tags = tagFilter(chain.match.tags)
    const anyTag = chain.match.tags === null
    matcher = (push) =>
      (repository(push.repository) || repository(`${push.registry}/${push.repository}`)) &&
      (push.tag === null ? anyTag : tags(push.tag))
    matchers.set(chain, matcher)
  }
  return matcher
}

export function chainsFor(push: PushEvent, chains: readonly Chain[]): Chain[] {
  return chains.filter((chain) => matcherFor(chain)(push))
}

/** The runs a push starts: one per matching chain, every step still queued. */
export function newRuns(
  eventId: string,
  push: PushEvent,
  chains: readonly Chain[],
  now: Date,
): Run[] {
  return chainsFor(push, chains).map((chain) => ({
    id: newId(now.getTime()),
    eventId,
    chain: chain.name,
    source: push.source,
    push,
    image: imageOf(push),
    state: 'running',
    stepTimeoutMs: chain.stepTimeoutMs,
    createdAt: now.toISOString(),
    finishedAt: null,
    version: 0,
    attempt: 1,
    ...stepsOf(chain),
  }))
}
