import { describe, expect, it } from 'vitest'
import {
  actionsHref,
  externalLink,
  hostOf,
  webHref,
  withQuery,
} from '../../../src/relay/ui/links.js'

describe('webHref', () => {
  it.each([
    ['https://github.com/acme/app/actions/runs/42', 'https://github.com/acme/app/actions/runs/42'],
    ['http://ci.internal:8080/job/7', 'http://ci.internal:8080/job/7'],
    ['HTTPS://Example.com/a b', 'https://example.com/a%20b'],
  ])('links %s', (url, expected) => {
    expect(webHref(url)).toBe(expected)
  })

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    ' javascript:alert(1)',
    'java\tscript:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'vbscript:msgbox(1)',
    '/runs/1',
    '//evil.example/x',
    'not a url',
    '',
    null,
  ])('does not link %s', (url) => {
    expect(webHref(url)).toBeNull()
  })
})

describe('externalLink', () => {
  it('links a web URL so that the page it opens cannot reach back', () => {
    expect(externalLink('https://ci.example/1', 'Details')?.text).toBe(
      '<a class="external" href="https://ci.example/1" rel="noopener noreferrer">Details</a>',
    )
  })

  it('shows anything else as escaped text', () => {
    expect(externalLink('javascript:alert("x")')?.text).toBe(
      '<span class="unlinked" title="Not an http(s) URL, so not a link">javascript:alert(&quot;x&quot;)</span>',
    )
  })
})

describe('addresses on the pages', () => {
  it('point a dispatch target at its Actions tab, on GitHub or a GitHub Enterprise Server', () => {
    expect(actionsHref('https://github.com', 'acme/deploy')).toBe(
      'https://github.com/acme/deploy/actions',
    )
    expect(actionsHref('https://ghe.acme.internal/', 'acme/deploy')).toBe(
      'https://ghe.acme.internal/acme/deploy/actions',
    )
    expect(actionsHref('https://github.com', 'acme/a?b')).toBe(
      'https://github.com/acme/a%3Fb/actions',
    )
  })

  it('keep only the non-empty query parameters', () => {
    expect(withQuery('/', { repository: 'acme/app', chain: undefined, state: '' })).toBe(
      '/?repository=acme%2Fapp',
    )
    expect(withQuery('/events', {})).toBe('/events')
  })

  it('show only the host of a URL that may carry a secret', () => {
    expect(hostOf('https://registry.hub.docker.com/u/acme/app/hook/2141b5bi5i5b/')).toBe(
      'registry.hub.docker.com',
    )
    expect(hostOf('::')).toBe('an unreadable URL')
  })
})
