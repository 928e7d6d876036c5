import { isDigest } from './image-reference.js'

// Fields a push may lack or carry garbled: each is read as null rather than failing the push.

const NAME_MAX = 255
const CALLBACK_URL_MAX = 2048
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export function optionalDigest(value: unknown): string | null {
  return isDigest(value) ? value : null
}

/** Who pushed: a user or robot name, printable and of sane length. */
export function optionalName(value: unknown): string | null {
  if (typeof value !== 'string') return null
  const name = value.trim()
  if (name === '' || name.length > NAME_MAX || CONTROL.test(name)) return null
  return name
}

/** The registry's own callback URL: an absolute http(s) URL, or null. */
export function optionalCallbackUrl(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > CALLBACK_URL_MAX) return null
  if (CONTROL.test(value) || /\s/.test(value)) return null
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? value : null
  } catch {
    return null
  }
}

/** A field that the schema leaves unchecked, for one of the readers above. */
export function field(container: object, key: string): unknown {
  return Object.hasOwn(container, key) ? (container as Record<string, unknown>)[key] : undefined
}

export function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
