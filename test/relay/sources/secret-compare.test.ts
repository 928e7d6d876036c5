import { describe, expect, it } from 'vitest'
import { sameSecret } from '../../../src/relay/sources/secret-compare.js'

describe('sameSecret', () => {
  it('is true only for the very same secret', () => {
    expect(sameSecret('s3cret-ü', 's3cret-ü')).toBe(true)
    expect(sameSecret('s3cret', 's3cret ')).toBe(false)
    expect(sameSecret('S3CRET', 's3cret')).toBe(false)
    expect(sameSecret('s3cre', 's3cret')).toBe(false)
    expect(sameSecret('a much longer guess than the secret', 's3cret')).toBe(false)
  })

  it('is false when nothing was sent or nothing is configured', () => {
    expect(sameSecret(null, 's3cret')).toBe(false)
    expect(sameSecret('', '')).toBe(false)
  })
})
