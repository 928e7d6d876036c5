import { type Html, html } from './html.js'

/** Links to the newest page and to the next, older one; nothing when there is one page. */
export function pager(newest: string | null, older: string | null, olderLabel: string): Html {
  if (!newest && !older) return html``
  return html`<nav class="pager" aria-label="Pages">
<span>${newest ? html`<a href="${newest}">← Newest</a>` : ''}</span>
<span>${older ? html`<a href="${older}" rel="next">${olderLabel} →</a>` : ''}</span>
</nav>`
}
