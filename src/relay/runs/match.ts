import picomatch from 'picomatch'
import type { Chain } from '../config/settings.js'
import { newId } from '../ids.js'
import { imageOf, type Run } from '../model/run.js'
import type { PushEvent } from '../sources/types.js'

type Matcher = (push: PushEvent) => boolean
type TagTest = (tag: string) => boolean

const matchers = new WeakMap<Chain, Matcher>()

/** cosign's `.sig`, `.att` and `.sbom` tags, and the OCI referrers API's fallback tag. */
const SIGNATURE_TAG = /^sha256-[0-9a-f]{64}(?:\.(?:sig|att|sbom))?$/

/** A tag that only carries signatures, attestations or SBOMs of another image. */
export function isSignatureTag(tag: string | null): boolean {
  return tag !== null && SIGNATURE_TAG.test(tag)
}

/**
 * Whether a tag pattern names signature tags explicitly: it spells out their form, starting with
 * `sha256-` or ending in `.sig`, `.att` or `.sbom`. `*`, `**` or `*-*` match them too, but by
 * accident, and start nothing on them.
 */
export function namesSignatureTags(pattern: string): boolean {
  return pattern.startsWith('sha256-') || /\.(?:sig|att|sbom)$/.test(pattern)
}

/**
 * `match.tags`: globs over the tag; one starting with `!` removes the tags it matches from what
 * the others take (every tag, when all of them are exclusions). Signature tags are taken only
 * by a pattern that names them explicitly. Null: every tag but signature tags.
 */
function tagTest(patterns: readonly string[] | null): TagTest {
  const includes = (patterns ?? []).filter((p) => !p.startsWith('!'))
  const excludes = (patterns ?? []).filter((p) => p.startsWith('!')).map((p) => p.slice(1))
  const glob = (list: string[]) => (list.length ? picomatch(list, { dot: true }) : null)
  const included = glob(includes)
  const excluded = glob(excludes)
  const signatures = glob(includes.filter(namesSignatureTags))
  return (tag) => {
    if (excluded?.(tag)) return false
    if (isSignatureTag(tag)) return signatures?.(tag) ?? false
    return included === null || included(tag)
  }
}

/**
 * `match.repository` is a glob over `acme/app` or, to pin a registry, over `docker.io/acme/app`;
 * `match.tags` as `tagTest` says; a chain without tags also takes pushes by digest alone.
 */
function matcherFor(chain: Chain): Matcher {
  let matcher = matchers.get(chain)
  if (!matcher) {
    const repository = picomatch(chain.match.repository, { nocase: true })
    const tags = tagTest(chain.match.tags)
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
    steps: chain.steps.map((spec, i) => ({
      index: i + 1,
      kind: spec.kind,
      target: spec.kind === 'dispatch' ? spec.repository : spec.url,
      eventType: spec.kind === 'dispatch' ? spec.eventType : null,
      state: 'queued',
      description: null,
      context: null,
      targetUrl: null,
      generation: 1,
      startedAt: null,
      dispatchedAt: null,
      finishedAt: null,
      deadline: null,
    })),
  }))
}
