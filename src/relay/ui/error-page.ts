import { html } from './html.js'
import { layout, type Section } from './layout.js'

export interface ErrorView {
  status: number
  title: string
  /** What went wrong and what to do, in the relay's words. */
  detail: string
  back: { href: string; label: string }
  section: Section | null
}

/** A 400 or 404 for a person: what is wrong, and a way back. */
export function errorPage({ status, title, detail, back, section }: ErrorView): string {
  return layout({
    title,
    section,
    body: html`<section class="error-page">
<p class="status">${status}</p>
<h1>${title}</h1>
<p>${detail}</p>
<p><a href="${back.href}">${back.label}</a></p>
</section>`,
  })
}
