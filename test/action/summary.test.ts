import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { escapeHtml, writeSummary } from '../../src/action/summary.js'

let dir: string
let summaryFile: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-summary-'))
  summaryFile = join(dir, 'step-summary.md')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(() => {
  writeFileSync(summaryFile, '')
  vi.stubEnv('GITHUB_STEP_SUMMARY', summaryFile)
})
afterEach(() => vi.unstubAllEnvs())

describe('writeSummary', () => {
  it('writes a table of what was reported', async () => {
    await writeSummary({
      callback: {
        state: 'failure',
        description: '3 of 390 tests FAILED, 2 skipped',
        context: 'Tests / pytest',
        target_url: 'https://github.com/acme/tests/actions/runs/42',
      },
      chainState: 'failure',
      delivery: 'delivered (HTTP 200, attempt 1 of 4)',
    })
    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary).toContain('<h3>hookchain callback</h3>')
    expect(summary).toContain('<tr><td>State</td><td><code>failure</code></td></tr>')
    expect(summary).toContain(
      '<tr><td>Description</td><td>3 of 390 tests FAILED, 2 skipped</td></tr>',
    )
    expect(summary).toContain('<tr><td>Context</td><td>Tests / pytest</td></tr>')
    expect(summary).toContain(
      '<tr><td>Target</td><td><a href="https://github.com/acme/tests/actions/runs/42">https://github.com/acme/tests/actions/runs/42</a></td></tr>',
    )
    expect(summary).toContain('<tr><td>Chain state</td><td><code>failure</code></td></tr>')
    expect(summary).toContain(
      '<tr><td>Delivery</td><td>delivered (HTTP 200, attempt 1 of 4)</td></tr>',
    )
  })

  it('links the run on the relay and names the first failed tests, then counts the rest', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `tests.test_deploy.test_${i}`)
    await writeSummary({
      callback: { state: 'failure', description: '9 of 40 tests FAILED' },
      chainState: 'failure',
      delivery: 'delivered (HTTP 200, attempt 1 of 4)',
      runUrl: 'https://relay.example.com/runs/0193b0c0-0000-7000-8000-000000000001',
      failedTests: { names, total: 9 },
    })
    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary).toContain(
      '<tr><td>Relay run</td><td><a href="https://relay.example.com/runs/0193b0c0-0000-7000-8000-000000000001">https://relay.example.com/runs/0193b0c0-0000-7000-8000-000000000001</a></td></tr>',
    )
    expect(summary).toContain(
      '<tr><td>Failed tests</td><td><code>tests.test_deploy.test_0</code><br><code>tests.test_deploy.test_1</code><br><code>tests.test_deploy.test_2</code><br><code>tests.test_deploy.test_3</code><br><code>tests.test_deploy.test_4</code><br>and 4 more</td></tr>',
    )
  })

  it('leaves out the failed tests when none failed, and says so when the reports name none', async () => {
    await writeSummary({
      callback: { state: 'success' },
      chainState: '',
      delivery: 'delivered',
      failedTests: { names: [], total: 0 },
    })
    expect(readFileSync(summaryFile, 'utf8')).not.toContain('Failed tests')
    writeFileSync(summaryFile, '')
    await writeSummary({
      callback: { state: 'failure' },
      chainState: '',
      delivery: 'delivered',
      failedTests: { names: [], total: 3 },
    })
    expect(readFileSync(summaryFile, 'utf8')).toContain(
      '<tr><td>Failed tests</td><td>3 (the reports name none)</td></tr>',
    )
  })

  it('escapes what users wrote, so it cannot add markup', async () => {
    await writeSummary({
      callback: { state: 'success', description: '<img src=x onerror=alert(1)> & "quotes"' },
      chainState: '',
      delivery: 'delivered',
    })
    const summary = readFileSync(summaryFile, 'utf8')
    expect(summary).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;')
    expect(summary).not.toContain('<img')
  })

  it('writes nothing, without failing, where the runner offers no summary', async () => {
    vi.stubEnv('GITHUB_STEP_SUMMARY', '')
    await writeSummary({ callback: { state: 'success' }, chainState: '', delivery: 'delivered' })
    expect(readFileSync(summaryFile, 'utf8')).toBe('')
  })
})

describe('escapeHtml', () => {
  it('escapes the five characters that matter in HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    )
  })
})
