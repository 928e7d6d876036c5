import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import { globMatcher } from '../model/glob.js'
import { imageOf, type Run } from '../model/run.js'
import { tagFilter } from '../model/tag-patterns.js'
import type { PushEvent } from '../sources/types.js'
import { stepsOf } from './steps.js'

/** A chain's match, in its two halves. */
interface Matcher {
  repository: (push: PushEvent) => boolean
  tag: (push: PushEvent) => boolean
}
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
    matcher = {
      repository: (push) =>
        repository(push.repository) || repository(`${push.registry}/${push.repository}`),
      tag: (push) => (push.tag === null ? anyTag : tags(push.tag)),
    }
    matchers.set(chain, matcher)
  }
  return matcher
}

export function chainsFor(push: PushEvent, chains: readonly Chain[]): Chain[] {
  return chains.filter((chain) => {
    const matcher = matcherFor(chain)
    return matcher.repository(push) && matcher.tag(push)
  })
}

/** How a push fares against one chain's match: by its repository, and by its tag. */
export interface MatchVerdict {
  chain: Chain
  repository: boolean
  tag: boolean
}

/** Each chain's verdict on a push, for a page that says why nothing started. */
export function compareWithChains(push: PushEvent, chains: readonly Chain[]): MatchVerdict[] {
  return chains.map((chain) => {
    const matcher = matcherFor(chain)
    return { chain, repository: matcher.repository(push), tag: matcher.tag(push) }
  })
}

/** The runs a push starts: one per matching chain, every step still queued. */
export function newRuns(
  eventId: string,
  push: PushEvent,
  chains: readonly Chain[],
  now: Date,
): Run[] {
  return chainsFor(push, chains).map((chain) => runFor(eventId, push, chain, now))
}

/** A new run of `chain` for a push, every step still queued. */
export function runFor(eventId: string, push: PushEvent, chain: Chain, now: Date): Run {
  return {
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
    sourceCommit: null,
    origin: null,
    notes: [],
  }
}
