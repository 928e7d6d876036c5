import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { escapeHtml, html } from '../../../src/relay/ui/html.js'

function unescapeHtml(text: string): string {
  return text
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&')
}

describe('escapeHtml', () => {
  it('escapes the characters that open markup or close an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    )
  })

  it('leaves no markup character in any string, and loses nothing', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeHtml(text)
        expect(escaped).not.toMatch(/[<>"']/)
        expect(unescapeHtml(escaped)).toBe(text)
      }),
    )
  })
})

describe('html', () => {
  it('escapes every interpolated value', () => {
    const value = '"><script>alert(1)</script>'
    expect(html`<p title="${value}">${value}</p>`.text).toBe(
      `<p title="${escapeHtml(value)}">${escapeHtml(value)}</p>`,
    )
  })

  it('keeps markup it built itself, joins lists and renders nothing for absent values', () => {
    const items = ['a<', 'b>'].map((item) => html`<li>${item}</li>`)
    expect(html`<ul>${items}</ul>${null}${undefined}${false}${0}`.text).toBe(
      '<ul><li>a&lt;</li><li>b&gt;</li></ul>0',
    )
  })
})
