import { globMatcher } from './glob.js'

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

export function isExclusion(pattern: string): boolean {
  return pattern.startsWith('!')
}

/** One tag pattern as a test, with the options `match.tags` globs use everywhere. */
export function tagGlob(patterns: string | readonly string[]): (tag: string) => boolean {
  return globMatcher(patterns)
}

/**
 * `match.tags`: globs over the tag; one starting with `!` removes the tags it matches from what
 * the others take (every tag, when all of them are exclusions). Signature tags are taken only
 * by a pattern that names them explicitly. Null: every tag but signature tags.
 */
export function tagFilter(patterns: readonly string[] | null): (tag: string) => boolean {
  const includes = (patterns ?? []).filter((p) => !isExclusion(p))
  const excludes = (patterns ?? []).filter(isExclusion).map((p) => p.slice(1))
  const glob = (list: string[]) => (list.length ? tagGlob(list) : null)
  const included = glob(includes)
  const excluded = glob(excludes)
  const signatures = glob(includes.filter(namesSignatureTags))
  return (tag) => {
    if (excluded?.(tag)) return false
    if (isSignatureTag(tag)) return signatures?.(tag) ?? false
    return included === null || included(tag)
  }
}
