import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { afterAll, describe, expect, it } from 'vitest'
import { CHROMIUM_FLAGS, findChromium } from './browser.js'

describe('the Chromium of the page tests', () => {
  const folder = mkdtempSync(join(tmpdir(), 'hookchain-browser-choice-'))
  afterAll(() => rmSync(folder, { recursive: true, force: true }))

  it('is CHROMIUM_PATH when it is set, and an error that says what to fix when it names no executable', async () => {
    const chosen = await findChromium({ CHROMIUM_PATH: process.execPath, PATH: '' })
    expect(chosen).toEqual({
      executablePath: process.execPath,
      env: {},
      reason: 'CHROMIUM_PATH is set',
    })
    const missing = join(folder, 'no-such-chromium')
    await expect(findChromium({ CHROMIUM_PATH: missing })).rejects.toThrow(
      `CHROMIUM_PATH is ${missing}, which is no executable file: fix it or unset it`,
    )
  })

  it('is a Chromium or Chrome on the PATH, Chromium first', async () => {
    for (const name of ['google-chrome', 'chromium']) {
      writeFileSync(join(folder, name), '')
      chmodSync(join(folder, name), 0o755)
    }
    const chosen = await findChromium({ PATH: `/nonexistent:${folder}` })
    expect(chosen).toMatchObject({
      executablePath: join(folder, 'chromium'),
      reason: 'chromium is on the PATH',
    })
  })

  it.runIf(process.platform === 'linux' && process.arch === 'x64')(
    'is the packaged one when there is no other, and it opens a page headless with our flags',
    async () => {
      const chosen = await findChromium({ PATH: '' })
      expect(chosen.reason).toMatch(/^no system Chromium; @sparticuz\/chromium \d+\.\d+\.\d+/)
      const started = performance.now()
      const browser = await chromium.launch({
        executablePath: chosen.executablePath,
        args: CHROMIUM_FLAGS,
        env: { ...process.env, ...chosen.env },
      })
      try {
        const launchMs = performance.now() - started
        const page = await browser.newPage()
        await page.setContent('<h1><span>hookchain</span></h1>')
        expect(await page.textContent('h1')).toBe('hookchain')
        // Text gets a real font: a Chromium without one lays out zero-width glyphs.
        const width = await page.evaluate<number>(
          "document.querySelector('span').getBoundingClientRect().width",
        )
        expect(width).toBeGreaterThan(20)
        console.log(`${chosen.reason}; launched in ${(launchMs / 1000).toFixed(1)} s`)
      } finally {
        await browser.close()
      }
    },
  )
})
