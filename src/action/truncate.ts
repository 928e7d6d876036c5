export const ELLIPSIS = '…'

/**
 * Length as the callback schema counts it (ajv's `maxLength` counts code points, not UTF-16 units).
 */
export function characterLength(text: string): number {
  let length = 0
  for (const _ of text) length++
  return length
}

/**
 * Cuts `text` to at most `max` characters, the last being "…". Cuts between user-perceived
 * characters, so an emoji or an accented letter is never split in half.
 */
export function truncate(text: string, max: number): string {
  if (characterLength(text) <= max) return text
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' })
  let kept = ''
  let length = 0
  for (const { segment } of segmenter.segment(text)) {
    const segmentLength = characterLength(segment)
    if (length + segmentLength > max - ELLIPSIS.length) break
    kept += segment
    length += segmentLength
  }
  return `${kept.trimEnd()}${ELLIPSIS}`
}
