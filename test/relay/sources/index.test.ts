import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SOURCE_NAMES, SOURCES, sourceNamed } from '../../../src/relay/sources/index.js'
import { type Source, SourcePayloadError } from '../../../src/relay/sources/types.js'
import { fixtureBytes, fixtureJson, requestOf } from './fixture-request.js'

describe('sources', () => {
  it('names every source once, in the characters a URL path segment and a config key take', () => {
    expect(new Set(SOURCE_NAMES).size).toBe(SOURCES.length)
    for (const name of SOURCE_NAMES) expect(name).toMatch(/^[a-z][a-z0-9]*$/)
  })

  it('finds a source by the name in /hooks/<name>, and nothing for other names', () => {
    for (const source of SOURCES) expect(sourceNamed(source.name)).toBe(source)
    for (const name of ['nope', 'toString', '__proto__', 'constructor', 'Quay', '']) {
      expect(sourceNamed(name)).toBeUndefined()
    }
  })
})

/** Every path to a value inside a JSON document, as lists of keys. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [prefix]
  const entries = Array.isArray(value)
    ? value.map((v, i) => [i, v] as const)
    : Object.entries(value)
  return [prefix, ...entries.flatMap(([key, child]) => pathsOf(child, [...prefix, key]))]
}

function replaced(document: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value
  const [head, ...rest] = path as [string | number, ...(string | number)[]]
  const copy = (Array.isArray(document) ? [...document] : { ...(document as object) }) as Record<
    string | number,
    unknown
  >
  copy[head] = replaced(copy[head], rest, value)
  return copy
}

/** The settings of the sources whose payloads leave something to the config. */
const SETTINGS: Record<string, unknown> = {
  artifactory: sourceNamed('artifactory')?.config.read({
    secret: 'jfrog-secret-0123456789',
    registry: 'acme.jfrog.io',
  }),
  nexus: sourceNamed('nexus')?.config.read({
    secret: 'nexus-secret-0123456789',
    registry: 'nexus.acme.com:8443',
  }),
  gitea: { secret: 'gitea-secret-0123456789', registry: null },
}
const ZOT_HEADERS = JSON.parse(
  fixtureBytes('cloudevents-zot-image-updated-binary.headers.json').toString('utf8'),
)
const STRUCTURED = { 'content-type': 'application/cloudevents+json' }
const CLOUDEVENTS = { token: 'cloudevents-token-5e1f', registry: 'zot.acme.com:5000' }

describe('every source, given a real payload with any one value changed to anything', () => {
  const cases = [
    ['dockerhub', 'dockerhub-push.json', {}],
    ['distribution', 'distribution-envelope-several.json', {}],
    ['github', 'github-registry-package-published.json', { 'x-github-event': 'registry_package' }],
    ['github', 'github-package-published.json', { 'x-github-event': 'package' }],
    ['harbor', 'harbor-push-artifact.json', {}],
    ['harbor', 'harbor-push-artifact-cloudevents.json', {}],
    ['quay', 'quay-repo-push.json', {}],
    ['artifactory', 'artifactory-pushed.json', {}],
    ['nexus', 'nexus-created.json', {}],
    ['gitea', 'gitea-package-created.json', { 'x-gitea-event': 'package' }],
    ['gitea', 'forgejo-package-created.json', { 'x-forgejo-event': 'package' }],
    ['acr', 'acr-push.json', {}],
    ['ecr', 'ecr-push.json', {}],
    ['gar', 'gar-insert.json', {}],
    ['cloudevents', 'cloudevents-zot-image-updated-binary.json', ZOT_HEADERS, CLOUDEVENTS],
    ['cloudevents', 'cloudevents-zot-image-updated.json', STRUCTURED, CLOUDEVENTS],
    ['cloudevents', 'cloudevents-harbor-push.json', STRUCTURED, CLOUDEVENTS],
    ['cloudevents', 'cloudevents-eventgrid-acr-pushed.json', STRUCTURED, CLOUDEVENTS],
  ] as const

  it.each(cases)(
    '%s (%s) answers with pushes that fit a reference, or a SourcePayloadError',
    (name, file, headers, settings?: unknown) => {
      const fixture = fixtureJson(file)
      const paths = pathsOf(fixture)
      fc.assert(
        fc.property(fc.nat(paths.length - 1), fc.jsonValue(), (at, value) => {
          const body = replaced(fixture, paths[at] ?? [], value)
          try {
            const source = sourceNamed(name) as Source
            const result = source.normalise(
              requestOf(body, { headers }),
              settings ?? SETTINGS[name] ?? {},
            )
            for (const push of result.pushes) {
              expect(push.tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/)
              expect(push.repository).toMatch(/^[a-z0-9]+(?:[._/-]+[a-z0-9]+)*$/)
              expect(push.registry).not.toMatch(/[\s/]/)
              expect(Number.isNaN(Date.parse(push.pushedAt))).toBe(false)
            }
            expect(result.pushes.length > 0 || typeof result.ignored === 'string').toBe(true)
          } catch (error) {
            if (!(error instanceof SourcePayloadError)) throw error
          }
        }),
        { numRuns: 300 },
      )
    },
  )
})
