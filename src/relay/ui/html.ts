/** Markup that is safe to send: made by `html`, so every value in it went through `escapeHtml`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

export type Interpolation =
  | Html
  | string
  | number
  | null
  | undefined
  | false
  | readonly Interpolation[]

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/** The one escaping function: safe in text and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c)
}

/**
 * Builds markup from a template: each interpolated value is escaped, unless it is markup built by
 * `html` itself; lists are joined; `null`, `undefined` and `false` render nothing. Attribute
 * values in templates must be quoted.
 */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) {
    out += render(values[i]) + (strings[i + 1] ?? '')
  }
  return new Html(out)
}

function render(value: Interpolation): string {
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return escapeHtml(String(value))
}
