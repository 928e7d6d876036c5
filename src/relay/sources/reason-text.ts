/** A value inside a message: quoted and escaped, cut short when long. */
export function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
}

/** A word a registry sent (an action, a media type, an event name) inside a reason: as is when plain. */
export function shown(word: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9.+/_-]{0,127}$/.test(word) ? word : quoted(word)
}
