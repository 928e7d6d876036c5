import { describe, expect, it } from 'vitest'
import { formatProblems, validateCallback } from '../../src/shared/callback.js'

describe('validateCallback', () => {
  it.each([
    [
      'a full success',
      {
        state: 'success',
        description: '387 tests PASSED',
        context: 'CI',
        target_url: 'https://github.com/acme/tests/actions/runs/42',
      },
    ],
    ['only a state', { state: 'failure' }],
    ['pending with a link', { state: 'pending', target_url: 'http://ci.example.com/run/1?x=1#y' }],
    ['limits exactly', { state: 'error', description: 'd'.repeat(255), context: 'c'.repeat(100) }],
  ])('accepts %s', (_name, body) => {
    expect(validateCallback(body)).toEqual({ ok: true, value: body })
  })

  it.each([
    ['no state', {}, '/state is required'],
    [
      'an unknown state',
      { state: 'passed' },
      '/state must be one of success, failure, error, pending',
    ],
    [
      'a long description',
      { state: 'success', description: 'd'.repeat(256) },
      '/description must be at most 255 characters',
    ],
    [
      'a long context',
      { state: 'success', context: 'c'.repeat(101) },
      '/context must be at most 100 characters',
    ],
    [
      'a relative target_url',
      { state: 'success', target_url: '/runs/1' },
      '/target_url must be an absolute http(s) URL',
    ],
    [
      'a javascript: target_url',
      { state: 'success', target_url: 'javascript:alert(1)' },
      '/target_url must be an absolute http(s) URL',
    ],
    [
      'a typo in a field name',
      { state: 'success', targetUrl: 'https://x' },
      '/targetUrl is not a callback field',
    ],
    ['a number for a state', { state: 1 }, '/state must be a string'],
    ['an array body', [], '(body) must be a JSON object'],
  ])('rejects %s', (_name, body, expected) => {
    const result = validateCallback(body)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(formatProblems(result.problems)).toContain(expected)
  })
})
