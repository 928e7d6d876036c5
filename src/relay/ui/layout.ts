import { FAVICON_HREF, STYLESHEET_HREF } from './assets.js'
import { type Html, html } from './html.js'

export type Section = 'runs' | 'events'

/** How often a page with a run going reloads itself. */
export const REFRESH_SECONDS = 5

export interface PageShell {
  /** The page's own title; the document title adds "· hookchain". */
  title: string
  /** The nav entry to mark as current. */
  section: Section | null
  /** Reload the page every this many seconds (while a run on it is going). */
  refreshSeconds?: number | null
  body: Html
}

/** The whole HTML document around a page's body: head, header with the nav, main. */
export function layout({ title, section, refreshSeconds, body }: PageShell): string {
  const nav = (name: Section, label: string, href: string) =>
    html`<a href="${href}"${section === name ? html` aria-current="page"` : ''}>${label}</a>`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${refreshSeconds ? html`<meta http-equiv="refresh" content="${refreshSeconds}">` : ''}
<title>${title} · hookchain</title>
<link rel="stylesheet" href="${STYLESHEET_HREF}">
<link rel="icon" href="${FAVICON_HREF}" type="image/svg+xml">
</head>
<body>
<header class="site-header">
<div class="site-header-inner">
<a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>hookchain</a>
<nav aria-label="History">${nav('runs', 'Runs', '/')}${nav('events', 'Events', '/events')}</nav>
</div>
</header>
<main>
${body}
</main>
</body>
</html>
`.text
}
