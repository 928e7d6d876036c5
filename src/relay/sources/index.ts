import type { SourceSecrets } from '../config/settings.js'
import { distribution } from './distribution.js'
import { dockerhub } from './dockerhub.js'
import { github } from './github.js'
import { harbor } from './harbor.js'
import { quay } from './quay.js'
import type { Source, SourceName } from './types.js'

export type SecretsOf<K extends SourceName> = NonNullable<SourceSecrets[K]>

/** Every registry the relay understands, by the name used in `/hooks/<name>` and the config. */
export const sources: { readonly [K in SourceName]: Source<SecretsOf<K>> } = {
  dockerhub,
  distribution,
  github,
  harbor,
  quay,
}

export type AnySource = (typeof sources)[SourceName]

/** The source of `/hooks/<name>`; undefined for a name that is not one (`toString` included). */
export function sourceNamed(name: string): AnySource | undefined {
  return Object.hasOwn(sources, name) ? sources[name as SourceName] : undefined
}
