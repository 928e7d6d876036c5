import { FAVICON_HREF, SCRIPT_HREF, STYLESHEET_HREF } from './assets.js'
import { type Html, html } from './html.js'

export type Section = 'runs' | 'events' | 'chains'

/** How often a page with a run going fetches itself again, to update its live parts in place. */
export const REFRESH_SECONDS = 5

export interface PageShell {
  /** The page's own title; the document title adds "· hookchain". */
  title: string
  /** The nav entry to mark as current. */
  section: Section | null
  /**
   * Update the page's live parts (`liveRegion`) every this many seconds while a run on it is
   * going; without JavaScript, `refreshLink` offers a manual refresh instead.
   */
  refreshSeconds?: number | null
  body: Html
}

/**
 * A part of a page that the page's script replaces with its newer rendering, in place: what is
 * typed, focused, scrolled or opened elsewhere on the page stays as it was.
 */
export function liveRegion(id: string, content: Html): Html {
  return html`<div id="${id}" data-live-region>${content}</div>`
}

/** Says that the page follows a run, with a link that refreshes it by hand (for pages without JavaScript). */
export function refreshLink(href: string, what: string): Html {
  return html`<p class="live"><span data-live-status>${what} is going.</span> <a href="${href}" data-refresh>Refresh</a></p>`
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
<title>${title} · hookchain</title>
<link rel="stylesheet" href="${STYLESHEET_HREF}">
<link rel="icon" href="${FAVICON_HREF}" type="image/svg+xml">
<script src="${SCRIPT_HREF}" defer></script>
</head>
<body${refreshSeconds ? html` data-live-seconds="${refreshSeconds}"` : ''}>
<header class="site-header">
<div class="site-header-inner">
<a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>hookchain</a>
<nav aria-label="History">${nav('runs', 'Runs', '/')}${nav('events', 'Events', '/events')}${nav('chains', 'Chains', '/chains')}</nav>
</div>
</header>
<main>
${body}
</main>
</body>
</html>
`.text
}
