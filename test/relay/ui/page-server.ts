import type { AddressInfo } from 'node:net'
import express from 'express'
import { pino } from 'pino'
import { type PagesDeps, pagesRouter } from '../../../src/relay/http/pages.js'
import { problemHandler } from '../../../src/relay/http/problem.js'
import type { Store } from '../../../src/relay/store/store.js'

export interface PageServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string
  close(): Promise<void>
}

/** The pages router in a real Express app on 127.0.0.1, as the relay mounts it (minus auth and buttons). */
export async function servePages(
  store: Store,
  now: () => Date,
  deps: Omit<PagesDeps, 'store' | 'now'> = {},
): Promise<PageServer> {
  const app = express()
  app.use(pagesRouter({ store, now, ...deps }))
  app.use(problemHandler(pino({ level: 'silent' })))
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error) =>
      error ? reject(error) : resolve(listening),
    )
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface Fetched {
  status: number
  headers: Headers
  body: string
}

export async function get(url: string): Promise<Fetched> {
  const response = await fetch(url, { redirect: 'manual' })
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/** The ids of the rows of a runs or events table, top to bottom. */
export function rowIds(page: string, kind: 'run' | 'event'): string[] {
  return [...page.matchAll(new RegExp(`<tr data-${kind}="([^"]+)">`, 'g'))].map((m) => m[1] ?? '')
}

/** The markup of one table row. */
export function rowOf(page: string, kind: 'run' | 'event', id: string): string {
  const start = page.indexOf(`<tr data-${kind}="${id}">`)
  if (start < 0) throw new Error(`no ${kind} row ${id} on the page`)
  return page.slice(start, page.indexOf('</tr>', start))
}

/** The markup of one step of a run page. */
export function stepOf(page: string, index: number): string {
  const start = page.indexOf(`id="step-${index}"`)
  if (start < 0) throw new Error(`no step ${index} on the page`)
  return page.slice(start, page.indexOf('</div>\n</li>', start))
}

/** Every `href` on the page, unescaped. */
export function hrefs(page: string): string[] {
  return [...page.matchAll(/href="([^"]*)"/g)].map((m) => (m[1] ?? '').replaceAll('&amp;', '&'))
}
