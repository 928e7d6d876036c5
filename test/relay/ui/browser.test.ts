import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { type BrowserContext, chromium, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRunService } from '../../../src/relay/runs/service.js'
import { sourceWebhooks } from '../../../src/relay/sources/webhook-setup.js'
import type { Store } from '../../../src/relay/store/store.js'
import { CHROMIUM_FLAGS, findChromium } from '../../support/browser.js'
import { ref } from '../runs/run-fixture.js'
import { sqliteFactory } from '../store/store-factories.js'
import { chains, type History, seedHistory } from './history-fixture.js'
import { type PageServer, servePages } from './page-server.js'

/** Kept by CI (.github/workflows/ci.yml uploads the folder), even when a test fails. */
const SCREENSHOTS = join(process.cwd(), 'artifacts', 'screenshots')
const DESKTOP = { width: 1280, height: 900 }
const PHONE = { width: 390, height: 844 }
const now = new Date('2026-11-26T22:00:00Z')

/** What the chains page shows of each registry's webhook: secrets as placeholders. */
const webhooks = () =>
  sourceWebhooks(
    'https://relay.example.com',
    {
      dockerhub: { secret: 'dockerhub-secret-0123456789' },
      distribution: { token: 'distribution-token-0123456789' },
      github: { webhook_secret: 'github-webhook-secret-0123456789' },
    },
    { masked: true },
  )

interface Browsing {
  context: BrowserContext
  page: Page
  /** Anything that went wrong in the page: console errors (CSP violations among them), dialogs, requests that left the relay. */
  trouble: string[]
  close(): Promise<void>
}

/** Headless Chromium with a profile of its own, watching for anything that goes wrong in the page. */
async function browse(origin: () => string, timezoneId = 'UTC'): Promise<Browsing> {
  const profile = mkdtempSync(join(tmpdir(), 'hookchain-chromium-'))
  // No browser at all fails the suite, with what to install: a skipped suite would read as a pass.
  const browser = await findChromium()
  console.log(`Chromium for the page tests: ${browser.executablePath} (${browser.reason})`)
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executablePath,
    env: { ...process.env, ...browser.env },
    args: CHROMIUM_FLAGS,
    viewport: DESKTOP,
    colorScheme: 'light',
    timezoneId,
  })
  const page = context.pages()[0] ?? (await context.newPage())
  const trouble: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') trouble.push(`console: ${message.text()}`)
  })
  page.on('pageerror', (error) => trouble.push(`page error: ${error.message}`))
  page.on('dialog', async (dialog) => {
    trouble.push(`dialog: ${dialog.message()}`)
    await dialog.dismiss()
  })
  page.on('request', (request) => {
    if (!request.url().startsWith(origin())) trouble.push(`request: ${request.url()}`)
  })
  return {
    context,
    page,
    trouble,
    async close() {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

// Page-side code is given as text: the project's TypeScript has no DOM types.
const overflow = (page: Page) =>
  page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
  )
const computed = (page: Page, selector: string, property: string) =>
  page.evaluate<string>(
    `getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`,
  )

describe('the history pages in headless Chromium', () => {
  let store: Store
  let dispose: () => Promise<void>
  let server: PageServer
  let history: History
  let browsing: Browsing
  let page: Page

  beforeAll(async () => {
    ;({ store, dispose } = await sqliteFactory.create())
    history = await seedHistory(store, now)
    server = await servePages(store, () => now, { chains: () => chains, webhooks })
    mkdirSync(SCREENSHOTS, { recursive: true })
    browsing = await browse(() => server.url)
    page = browsing.page
  })

  afterAll(async () => {
    await browsing?.close()
    await server?.close()
    await dispose?.()
  })

  const open = async (path: string) => {
    const response = await page.goto(`${server.url}${path}`)
    expect(response?.status()).toBe(200)
  }
  const runRows = () => page.locator('tr[data-run]')

  it('loads the runs list, styled by its own stylesheet', async () => {
    await page.setViewportSize(DESKTOP)
    await open('/')
    await expect.poll(() => runRows().count()).toBe(6)
    expect(await computed(page, '.badge-bad', 'borderRadius')).toBe('999px')
    expect(await page.locator('h1').textContent()).toBe('Runs')
  })

  it('narrows the list through the search box and the state', async () => {
    await open('/')
    await page.getByLabel('Search', { exact: true }).fill('acme/other')
    await Promise.all([
      page.waitForURL(/q=acme%2Fother/),
      page.getByRole('button', { name: 'Search' }).click(),
    ])
    expect(await runRows().count()).toBe(1)
    expect(await runRows().first().getAttribute('data-run')).toBe(history.other)
    expect(await page.getByLabel('Search', { exact: true }).inputValue()).toBe('acme/other')

    await open('/')
    await page.getByLabel('State').selectOption('failure')
    await Promise.all([
      page.waitForURL(/state=failure/),
      page.getByRole('button', { name: 'Search' }).click(),
    ])
    expect(
      await runRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))),
    ).toEqual([history.hostile, history.failed])
    expect(await page.getByLabel('State').inputValue()).toBe('failure')
  })

  it('opens a run’s timeline from anywhere on its row, with its target_url as a link', async () => {
    await open('/')
    await Promise.all([
      page.waitForURL(`**/runs/${history.failed}`),
      // The row's link covers the cell: force skips Playwright's check that the cell takes the click.
      page.locator(`tr[data-run="${history.failed}"] .c-steps`).click({ force: true }),
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
  })

  it('shows a digest short, with a button that copies it whole', async () => {
    // A list with no run going: nothing swaps the button while it is pressed.
    await open('/?state=error')
    const chip = page.locator(`tr[data-run="${history.errored}"] .digest`)
    // Not by its name: that changes to "Copied" once pressed.
    const button = chip.locator('button.copy')
    await expect.poll(() => button.isVisible()).toBe(true)
    await browsing.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: server.url,
    })
    await button.click()
    await expect.poll(() => button.textContent()).toBe('Copied')
    const copied = await page.evaluate<string>('navigator.clipboard.readText()')
    expect(copied).toBe(await chip.locator('code').getAttribute('title'))
    expect(copied).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('opens an event from anywhere on its row, the image names unbroken', async () => {
    await open('/events')
    const row = page.locator(`tr[data-event="${history.unmatchedEvent}"]`)
    const name = row.locator('.ref')
    // One line: the name is not broken inside a word on a wide screen.
    const box = await name.boundingBox()
    const lineHeight = Number.parseFloat(
      await computed(page, `tr[data-event="${history.unmatchedEvent}"] .ref`, 'lineHeight'),
    )
    expect(Math.round((box?.height ?? 0) / lineHeight)).toBe(1)
    await Promise.all([
      page.waitForURL(`**/events/${history.unmatchedEvent}`),
      row.locator('.c-outcome').click({ position: { x: 5, y: 5 }, force: true }),
    ])
    expect(await page.locator('h1').textContent()).toBe('Event from dockerhub')
    expect(await page.locator('body').textContent()).toContain('Chains it was compared with')
  })

  it('runs nothing from a hostile tag, description or target_url', async () => {
    await open(`/runs/${history.hostile}`)
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0)
    expect(await page.locator('#step-1 .report .description').textContent()).toContain('<img src=x')
  })

  const everyPage = () => [
    ['runs', '/'],
    ['run', `/runs/${history.failed}`],
    ['run-errored', `/runs/${history.errored}`],
    ['run-hostile', `/runs/${history.hostile}`],
    ['run-succeeded', `/runs/${history.succeeded}`],
    ['events', '/events'],
    ['event', `/events/${history.failedEvent}`],
    ['event-unmatched', `/events/${history.unmatchedEvent}`],
    ['chains', '/chains'],
  ]

  it('keeps a screenshot of every page, on a desktop', async () => {
    await page.setViewportSize(DESKTOP)
    for (const [name, path] of everyPage()) {
      await open(path as string)
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-desktop.png`), fullPage: true })
    }
  })

  it('fits a phone screen without scrolling sideways, every page', async () => {
    await page.setViewportSize(PHONE)
    for (const [name, path] of everyPage()) {
      await open(path as string)
      const { scrollWidth, innerWidth } = await overflow(page)
      expect(
        scrollWidth,
        `${path} is ${scrollWidth}px wide on a ${innerWidth}px screen`,
      ).toBeLessThanOrEqual(innerWidth)
      await page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true })
    }
  })

  it('follows a dark colour scheme', async () => {
    await page.setViewportSize(DESKTOP)
    await page.emulateMedia({ colorScheme: 'dark' })
    await open(`/runs/${history.running}`)
    expect(await computed(page, 'body', 'backgroundColor')).toBe('rgb(14, 17, 22)')
    await page.screenshot({ path: join(SCREENSHOTS, 'run-dark.png'), fullPage: true })
    await open('/chains')
    await page.screenshot({ path: join(SCREENSHOTS, 'chains-dark.png'), fullPage: true })
    await page.emulateMedia({ colorScheme: 'light' })
  })

  it('loaded everything from the relay, without errors or dialogs', () => {
    expect(browsing.trouble).toEqual([])
  })
})

describe('pages that follow a running run, in headless Chromium', () => {
  let store: Store
  let dispose: () => Promise<void>
  let server: PageServer
  let history: History
  let browsing: Browsing
  let page: Page
  let clock = now

  beforeAll(async () => {
    ;({ store, dispose } = await sqliteFactory.create())
    history = await seedHistory(store, now)
    server = await servePages(store, () => now, { chains: () => chains, liveSeconds: 1 })
    browsing = await browse(() => server.url, 'Europe/Berlin')
    page = browsing.page
  })

  afterAll(async () => {
    await browsing?.close()
    await server?.close()
    await dispose?.()
  })

  const runs = () =>
    createRunService({
      store,
      chains: () => chains,
      now: () => clock,
      logger: pino({ level: 'silent' }),
      onWork: () => {},
    })

  /** Ends the running run: step 2 reports success, step 3 (a webhook) is delivered and reports. */
  async function finishRunning(): Promise<void> {
    clock = new Date(now.getTime() + 1000)
    const service = runs()
    const id = history.running
    await service.callback({ runId: id, ref: ref(2), generation: 1 }, { state: 'success' })
    const run = await service.findRun(id)
    await service.delivered(run, ref(3), run.steps[2] as (typeof run.steps)[2])
    await service.callback({ runId: id, ref: ref(3), generation: 1 }, { state: 'success' })
  }

  it('shows times in the reader’s time zone, with UTC on hover', async () => {
    await page.goto(`${server.url}/runs/${history.failed}`)
    const started = page.locator('.facts time[datetime="2026-11-26T21:30:00.000Z"]').first()
    await expect.poll(() => started.textContent()).toMatch(/^2026-11-26 22:30:00 (GMT\+1|CET)$/)
    expect(await started.getAttribute('title')).toBe('2026-11-26 21:30:00 UTC')
    expect(await page.locator('[data-tz-hint]').textContent()).toBe(
      'times in your time zone, UTC on hover',
    )
    const logTime = page.locator('#step-1 .log time').first()
    expect(await logTime.textContent()).toBe('22:30:00')
  })

  it('updates the runs list in place while someone types in the search box', async () => {
    await page.goto(`${server.url}/`)
    const state = page.locator(`tr[data-run="${history.running}"] .c-state`)
    expect(await state.textContent()).toContain('running')
    const box = page.getByLabel('Search', { exact: true })
    await box.click()
    await box.pressSequentially('acme/ap', { delay: 30 })
    await finishRunning()
    await expect.poll(() => state.textContent(), { timeout: 10_000 }).toContain('success')
    await box.pressSequentially('p', { delay: 30 })
    expect(await box.inputValue()).toBe('acme/app')
    expect(await page.evaluate<string>('document.activeElement.name')).toBe('q')
    await expect
      .poll(() => page.locator('[data-live-status]').textContent())
      .toContain('Up to date')
  })

  it('updates a run page in place, keeping what is open and where it was scrolled', async () => {
    // A retried run: attempt 2 is going, attempt 1 is kept in a closed <details>.
    clock = new Date(now.getTime() + 2000)
    await runs().retry(history.failed)
    await page.setViewportSize({ width: 1280, height: 500 })
    await page.goto(`${server.url}/runs/${history.failed}`)
    const earlier = page.locator('details#attempt-1')
    await earlier.locator('summary').click()
    expect(await earlier.getAttribute('open')).toBe('')
    await page.evaluate('window.scrollTo(0, 300)')
    const step2 = page.locator('#step-2 > .step-body > .step-head .badge')
    expect(await step2.textContent()).toContain('dispatching')

    const run = await runs().findRun(history.failed)
    await runs().delivered(run, ref(2), run.steps[1] as (typeof run.steps)[1])
    await expect.poll(() => step2.textContent(), { timeout: 10_000 }).toContain('running')
    expect(await earlier.getAttribute('open')).toBe('')
    expect(await page.evaluate<number>('window.scrollY')).toBe(300)
    expect(page.url()).toBe(`${server.url}/runs/${history.failed}`)
    await page.setViewportSize(DESKTOP)
  })

  it('works without JavaScript: the refresh link shows what changed', async () => {
    const plain = await browse(() => server.url)
    try {
      await plain.context.route('**/assets/hookchain.js*', (route) => route.abort())
      const view = plain.page
      await view.goto(`${server.url}/runs/${history.failed}`)
      const step2 = view.locator('#step-2 > .step-body > .step-head .badge')
      expect(await step2.textContent()).toContain('running')
      await runs().callback(
        { runId: history.failed, ref: ref(2), generation: 2 },
        { state: 'failure', description: 'failed again' },
      )
      await Promise.all([
        view.waitForURL(`**/runs/${history.failed}`),
        view.getByRole('link', { name: 'Refresh' }).click(),
      ])
      expect(await step2.textContent()).toContain('failure')
      expect(await view.locator('.facts time').first().textContent()).toMatch(/ UTC$/)
    } finally {
      await plain.close()
    }
  })

  it('loaded everything from the relay, without errors or dialogs', () => {
    expect(browsing.trouble).toEqual([])
  })
})
