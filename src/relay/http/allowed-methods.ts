import { type Problem, problem } from './problem.js'

/**
 * What a 405 needs of a layer of the `router` package (Express 5's router; @types/express still
 * describes Express 4's): `match` answers whether a path falls under the layer, and how much of it.
 */
export interface RouterLayer {
  match(path: string): { path: string } | false
  route?: { methods: Record<string, boolean | undefined> }
  handle: { stack?: readonly RouterLayer[] }
}

/** The methods the routes in `stack` answer at `path` (HEAD with GET), sorted; empty when none. */
export function allowedMethods(stack: readonly RouterLayer[], path: string): string[] {
  const methods = new Set<string>()
  for (const layer of stack) {
    const match = layer.match(path)
    if (!match) continue
    if (layer.route) {
      for (const [method, handled] of Object.entries(layer.route.methods)) {
        if (!handled || method === '_all') continue
        methods.add(method.toUpperCase())
        if (method === 'get') methods.add('HEAD')
      }
    } else if (layer.handle.stack) {
      const rest = path.slice(match.path.length) || '/'
      for (const method of allowedMethods(layer.handle.stack, rest)) methods.add(method)
    }
  }
  return [...methods].sort()
}

export function methodNotAllowed(method: string, path: string, allowed: string[]): Problem {
  return problem('method-not-allowed', `${path} answers ${allowed.join(', ')}, not ${method}.`, {
    extensions: { allowed },
    headers: { Allow: allowed.join(', ') },
  })
}
