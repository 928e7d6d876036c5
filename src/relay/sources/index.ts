import { acr } from './acr.js'
import { artifactory } from './artifactory.js'
import { cloudevents } from './cloudevents.js'
import { distribution } from './distribution.js'
import { dockerhub } from './dockerhub.js'
import { ecr } from './ecr.js'
import { gar } from './gar.js'
import { gitea } from './gitea.js'
import { github } from './github.js'
import { harbor } from './harbor.js'
import { nexus } from './nexus.js'
import { quay } from './quay.js'
import type { Source } from './types.js'

/**
 * Every registry the relay understands. A new one is a file of its own and a line here: the
 * config schema, the hooks route and the docs are derived from this list.
 */
export const SOURCES: readonly Source<unknown>[] = [
  dockerhub,
  distribution,
  github,
  harbor,
  quay,
  artifactory,
  nexus,
  gitea,
  acr,
  ecr,
  gar,
  cloudevents,
]

export const SOURCE_NAMES: readonly string[] = SOURCES.map((source) => source.name)

/** The source of `/hooks/<name>`; undefined for a name that is not one. */
export function sourceNamed(name: string): Source<unknown> | undefined {
  return SOURCES.find((source) => source.name === name)
}
