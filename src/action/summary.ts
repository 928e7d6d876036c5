import { EOL } from 'node:os'
import type { Callback } from '../shared/callback.js'
import { appendSummary } from './runner-files.js'

export interface ReportedCallback {
  callback: Callback
  /** How the relay took it: "delivered (HTTP 200, attempt 1 of 4)" or why it failed. */
  delivery: string
  chainState: string
  /** The run's page on the relay, when its answer gave it. */
  runUrl?: string
  /** The failed tests of `test-results`: the first names read, and how many failed in all. */
  failedTests?: { names: string[]; total: number }
}

/** Failed tests named in the summary; the rest are counted. */
const FAILED_NAMES_SHOWN = 5

/** Writes what was reported as a table in the job summary, when the runner offers one. */
export async function writeSummary(report: ReportedCallback): Promise<void> {
  const { callback } = report
  const target = callback.target_url
    ? `<a href="${escapeHtml(callback.target_url)}">${escapeHtml(callback.target_url)}</a>`
    : ''
  const rows: [string, string][] = [
    ['State', `<code>${escapeHtml(callback.state)}</code>`],
    ['Description', escapeHtml(callback.description ?? '')],
    ['Context', escapeHtml(callback.context ?? '')],
    ['Target', target],
    ['Chain state', report.chainState ? `<code>${escapeHtml(report.chainState)}</code>` : ''],
    ['Delivery', escapeHtml(report.delivery)],
  ]
  if (report.runUrl) {
    const url = escapeHtml(report.runUrl)
    rows.push(['Relay run', `<a href="${url}">${url}</a>`])
  }
  if (report.failedTests && report.failedTests.total > 0) {
    rows.push(['Failed tests', failedList(report.failedTests)])
  }
  // The markup core.summary.addHeading(…, 3).addTable(…) writes.
  const table = rows.map(([field, cell]) => `<tr><td>${field}</td><td>${cell}</td></tr>`)
  appendSummary(
    `<h3>hookchain callback</h3>${EOL}` +
      `<table><tr><th>Field</th><th>Reported</th></tr>${table.join('')}</table>${EOL}`,
  )
}

/** `a.test_x`, `b.test_y` … and 12 more. */
function failedList({ names, total }: { names: string[]; total: number }): string {
  const shown = names.slice(0, FAILED_NAMES_SHOWN).map((name) => `<code>${escapeHtml(name)}</code>`)
  const rest = total - shown.length
  if (shown.length === 0) return `${total} (the reports name none)`
  return rest > 0 ? `${shown.join('<br>')}<br>and ${rest} more` : shown.join('<br>')
}

/** Table cells go into the HTML as they are: what users wrote must be escaped first. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  )
}
