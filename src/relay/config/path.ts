/** Where a value sits in the config: keys and list indices from the top. */
export type ConfigPath = readonly (string | number)[]

/** `chains[0].steps[1].dispatch.repository`; keys that are not plain words are quoted. */
export function formatPath(path: ConfigPath): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) text += text ? `.${segment}` : segment
    else text += `[${JSON.stringify(segment)}]`
  }
  return text
}

/** Turns ajv's JSON pointer (`/chains/0/name`) into a path, with indices where `data` has lists. */
export function pointerToPath(pointer: string, data: unknown): ConfigPath {
  if (pointer === '') return []
  const path: (string | number)[] = []
  let node = data
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      path.push(Number(key))
      node = node[Number(key)]
    } else {
      path.push(key)
      node = isMapping(node) ? node[key] : undefined
    }
  }
  return path
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
