import { describe, expect, it } from 'vitest'
import { redactCallbackUrl, redactCallbackUrls, redactUrl } from '../../src/shared/redaction.js'

describe('redactUrl', () => {
  it.each([
    ['https://user:pass@hooks.example.com/deploy', 'https://hooks.example.com/deploy'],
    [
      'https://hooks.example.com/deploy?token=abc&x=1',
      'https://hooks.example.com/deploy?token=[redacted]&x=[redacted]',
    ],
    [
      'https://registry.hub.docker.com/u/svendowideit/testhook/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
      'https://registry.hub.docker.com/u/svendowideit/testhook/hook/[redacted]/',
    ],
    [
      'https://hooks.example.com/v1/releases/2026-11-26',
      'https://hooks.example.com/v1/releases/2026-11-26',
    ],
    ['https://hooks.example.com/a#frag', 'https://hooks.example.com/a'],
    ['not a url', '[redacted]'],
  ])('shows %s as %s', (url, shown) => {
    expect(redactUrl(url)).toBe(shown)
  })
})

describe('redactCallbackUrl', () => {
  it('hides the token, the last path segment', () => {
    expect(redactCallbackUrl('https://relay.example.com/callbacks/abc')).toBe(
      'https://relay.example.com/callbacks/[redacted]',
    )
    expect(redactCallbackUrl('https://relay.example.com/base/callbacks/abc/?x=1')).toBe(
      'https://relay.example.com/base/callbacks/[redacted]/',
    )
  })

  it('hides every callback_url in a JSON value, leaving the rest', () => {
    const value = {
      callback_url: 'https://r.example.com/callbacks/t',
      nested: [{ callback_url: 'https://r.example.com/callbacks/u', n: 1 }],
    }

    expect(redactCallbackUrls(value)).toEqual({
      callback_url: 'https://r.example.com/callbacks/[redacted]',
      nested: [{ callback_url: 'https://r.example.com/callbacks/[redacted]', n: 1 }],
    })
    expect(value.callback_url).toBe('https://r.example.com/callbacks/t')
  })
})
