import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Store } from '../../../src/relay/store/store.js'
import { CHROMIUM_FLAGS, findChromium } from '../../support/browser.js'
import { sqliteFactory } from '../store/store-factories.js'
import { type History, seedHistory } from './history-fixture.js'
import { type PageServer, servePages } from './page-server.js'

const SCREENSHOTS = join(process.cwd(), 'artifacts', 'screenshots')
const DESKTOP = { width: 1280, height: 900 }
const PHONE = { width: 390, height: 844 }

describe('the history pages in headless Chromium', () => {
  const now = new Date('2026-11-26T22:00:00Z')
  let store: Store
  let dispose: () => Promise<void>
  let server: PageServer
  let history: History
  let profile: string
  let context: BrowserContext
  let page: Page
  /** Anything that went wrong in the page: console errors (CSP violations among them), dialogs, requests that left the relay. */
  const trouble: string[] = []

  beforeAll(async () => {
    ;({ store, dispose } = await sqliteFactory.create())
    history = await seedHistory(store, now)
    server = await servePages(store, () => now)
    mkdirSync(SCREENSHOTS, { recursive: true })
    profile = mkdtempSync(join(tmpdir(), 'hookchain-chromium-'))
    // No browser at all fails the suite, with what to install: a skipped suite would read as a pass.
    const browser = await findChromium()
    console.log(`Chromium for the page tests: ${browser.executablePath} (${browser.reason})`)
    context = await chromium.launchPersistentContext(profile, {
      executablePath: browser.executablePath,
      env: { ...process.env, ...browser.env },
      args: CHROMIUM_FLAGS,
      viewport: DESKTOP,
      colorScheme: 'light',
    })
    page = context.pages()[0] ?? (await context.newPage())
    page.on('console', (message) => {
      if (message.type() === 'error') trouble.push(`console: ${message.text()}`)
    })
    page.on('pageerror', (error) => trouble.push(`page error: ${error.message}`))
    page.on('dialog', async (dialog) => {
      trouble.push(`dialog: ${dialog.message()}`)
      await dialog.dismiss()
    })
    page.on('request', (request) => {
      if (!request.url().startsWith(server.url)) trouble.push(`request: ${request.url()}`)
    })
  })

  afterAll(async () => {
    await context?.close()
    if (profile) rmSync(profile, { recursive: true, force: true })
    await server?.close()
    await dispose?.()
  })

  const open = async (path: string) => {
    const response = await page.goto(`${server.url}${path}`)
    expect(response?.status()).toBe(200)
  }
  const runRows = () => page.locator('tr[data-run]')
  // Page-side code is given as text: the project's TypeScript has no DOM types.
  const overflow = () =>
    page.evaluate<{ scrollWidth: number; innerWidth: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
    )
  const computed = (selector: string, property: string) =>
    page.evaluate<string>(
      `getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`,
    )

  it('loads the runs list, styled by its own stylesheet', async () => {
    await page.setViewportSize(DESKTOP)
    await open('/')
    await expect.poll(() => runRows().count()).toBe(6)
    expect(await computed('.badge-bad', 'borderRadius')).toBe('999px')
    expect(await page.locator('h1').textContent()).toBe('Runs')
    await page.screenshot({ path: join(SCREENSHOTS, 'runs-desktop.png'), fullPage: true })
  })

  it('narrows the list through the filter form', async () => {
    await open('/')
    await page.getByLabel('Repository').fill('acme/other')
    await Promise.all([
      page.waitForURL(/repository=acme%2Fother/),
      page.getByRole('button', { name: 'Filter' }).click(),
    ])
    expect(await runRows().count()).toBe(1)
    expect(await runRows().first().getAttribute('data-run')).toBe(history.other)

    await open('/')
    await page.getByLabel('State').selectOption('failure')
    await Promise.all([
      page.waitForURL(/state=failure/),
      page.getByRole('button', { name: 'Filter' }).click(),
    ])
    expect(
      await runRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))),
    ).toEqual([history.hostile, history.failed])
    expect(await page.getByLabel('State').inputValue()).toBe('failure')
  })

  it('opens a run’s timeline from the list, with its target_url as a link', async () => {
    await open('/')
    await Promise.all([
      page.waitForURL(`**/runs/${history.failed}`),
      page.locator(`a[href="/runs/${history.failed}"]`).click(),
    ])
    expect(await page.locator('h1').textContent()).toBe('release')
    expect(await page.locator('ol.timeline > li').count()).toBe(3)
    const details = page.locator(
      '#step-2 .report a[href="https://github.com/acme/deploy/actions/runs/43"]',
    )
    await expect.poll(() => details.isVisible()).toBe(true)
    expect(await details.getAttribute('rel')).toBe('noopener noreferrer')
    expect(await page.getByRole('button', { name: 'Retry from step 2' }).isVisible()).toBe(true)
    expect(await page.locator('#step-2').textContent()).toContain(
      'arrived after the step had ended',
    )
    await page.screenshot({ path: join(SCREENSHOTS, 'run-desktop.png'), fullPage: true })
  })

  it('runs nothing from a hostile tag, description or target_url', async () => {
    await open(`/runs/${history.hostile}`)
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0)
    expect(await page.locator('#step-1 .report .description').textContent()).toContain('<img src=x')
  })

  it('fits a phone screen without scrolling sideways', async () => {
    await page.setViewportSize(PHONE)
    const paths = [
      '/',
      `/runs/${history.failed}`,
      `/runs/${history.errored}`,
      `/runs/${history.hostile}`,
      '/events',
      `/events/${history.failedEvent}`,
    ]
    for (const path of paths) {
      await open(path)
      const { scrollWidth, innerWidth } = await overflow()
      expect(
        scrollWidth,
        `${path} is ${scrollWidth}px wide on a ${innerWidth}px screen`,
      ).toBeLessThanOrEqual(innerWidth)
    }
    await open('/')
    await page.screenshot({ path: join(SCREENSHOTS, 'runs-phone.png'), fullPage: true })
    await open(`/runs/${history.failed}`)
    await page.screenshot({ path: join(SCREENSHOTS, 'run-phone.png'), fullPage: true })
  })

  it('follows a dark colour scheme', async () => {
    await page.setViewportSize(DESKTOP)
    await page.emulateMedia({ colorScheme: 'dark' })
    await open(`/runs/${history.running}`)
    expect(await computed('body', 'backgroundColor')).toBe('rgb(14, 17, 22)')
    await page.screenshot({ path: join(SCREENSHOTS, 'run-dark.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('loaded everything from the relay, without errors or dialogs', () => {
    expect(trouble).toEqual([])
  })
})
