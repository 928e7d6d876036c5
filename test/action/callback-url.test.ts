import { describe, expect, it } from 'vitest'
import {
  CallbackUrlError,
  callbackUrlOfEvent,
  missingCallbackUrl,
  parseCallbackUrl,
  redactCallbackUrl,
  secretsOfCallbackUrl,
} from '../../src/action/callback-url.js'

const TOKEN = 'c5f2e0b1a9d84f3e8b7a6c5d4e3f2a1b'

describe('callbackUrlOfEvent', () => {
  it('takes client_payload.callback_url of a repository_dispatch event', () => {
    const payload = {
      action: 'deploy',
      client_payload: { callback_url: `https://relay.example.com/callbacks/${TOKEN}` },
    }
    expect(callbackUrlOfEvent({ name: 'repository_dispatch', payload })).toBe(
      `https://relay.example.com/callbacks/${TOKEN}`,
    )
  })

  it.each([
    ['no event file', null],
    ['a push event', { ref: 'refs/heads/main' }],
    ['a client_payload without callback_url', { client_payload: { chain: 'release' } }],
    ['a callback_url that is not a string', { client_payload: { callback_url: 42 } }],
    ['an empty callback_url', { client_payload: { callback_url: ' ' } }],
  ])('finds none in %s', (_name, payload) => {
    expect(callbackUrlOfEvent({ name: 'push', payload })).toBeNull()
  })
})

describe('missingCallbackUrl', () => {
  it('tells how to pass the URL, on one line, for a run another event started', () => {
    const message = missingCallbackUrl({ name: 'push', payload: {} })
    expect(message).toBe(
      'No callback URL: this run was not started by a hookchain repository_dispatch (it was started by push). ' +
        'Set the callback-url input, or trigger the workflow with on: repository_dispatch.',
    )
    expect(message).not.toContain('\n')
  })

  it('says the dispatch did not come from hookchain when it has no callback_url', () => {
    expect(missingCallbackUrl({ name: 'repository_dispatch', payload: {} })).toMatch(
      /^No callback URL: the repository_dispatch event .* has no client_payload\.callback_url.*Set the callback-url input\.$/,
    )
  })
})

describe('parseCallbackUrl', () => {
  it('accepts an absolute http or https URL', () => {
    expect(parseCallbackUrl('http://127.0.0.1:8080/callbacks/x', 'Input "callback-url"').port).toBe(
      '8080',
    )
    expect(
      parseCallbackUrl('https://relay.example.com/callbacks/x', 'Input "callback-url"').protocol,
    ).toBe('https:')
  })

  it.each([
    [
      `relay.example.com/callbacks/${TOKEN}`,
      'Input "callback-url" is not a URL: expected an absolute http(s) URL',
    ],
    [`/callbacks/${TOKEN}`, 'Input "callback-url" is not a URL: expected an absolute http(s) URL'],
    [
      `ftp://relay.example.com/callbacks/${TOKEN}`,
      'Input "callback-url" must be an http(s) URL, not ftp',
    ],
  ])('rejects %s without repeating the secret', (raw, message) => {
    expect(() => parseCallbackUrl(raw, 'Input "callback-url"')).toThrow(CallbackUrlError)
    expect(() => parseCallbackUrl(raw, 'Input "callback-url"')).toThrow(message)
    try {
      parseCallbackUrl(raw, 'Input "callback-url"')
    } catch (error) {
      expect(String(error)).not.toContain(TOKEN)
    }
  })
})

describe('secretsOfCallbackUrl', () => {
  it.each([
    ['the token of a hookchain relay', `https://relay.example.com/callbacks/${TOKEN}`, [TOKEN]],
    ['the token under a path prefix', `https://example.com/hookchain/callbacks/${TOKEN}/`, [TOKEN]],
    [
      'the token and a query',
      `https://relay.example.com/callbacks/${TOKEN}?sig=abcdef`,
      [TOKEN, 'sig=abcdef'],
    ],
    [
      'the whole path of another URL',
      'https://hooks.example.com/T0001/B0002/XXXX',
      ['T0001/B0002/XXXX'],
    ],
    ['a password', 'https://ci:hunter22@relay.example.com/', ['hunter22']],
    ['nothing for a bare host', 'https://relay.example.com/', []],
  ])('finds %s', (_name, raw, expected) => {
    expect(secretsOfCallbackUrl(new URL(raw))).toEqual(expected)
  })
})

describe('redactCallbackUrl', () => {
  it('replaces the token with ***', () => {
    expect(redactCallbackUrl(new URL(`https://relay.example.com/callbacks/${TOKEN}`))).toBe(
      'https://relay.example.com/callbacks/***',
    )
  })
})
