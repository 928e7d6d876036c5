import { EOL } from 'node:os'
import type { Callback } from '../shared/callback.js'
import { appendSummary } from './runner-files.js'

export interface ReportedCallback {
  callback: Callback
  /** How the relay took it: "delivered (HTTP 200, attempt 1 of 4)" or why it failed. */
  delivery: string
  chainState: string
}

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
  // The markup core.summary.addHeading(…, 3).addTable(…) writes.
  const table = rows.map(([field, cell]) => `<tr><td>${field}</td><td>${cell}</td></tr>`)
  appendSummary(
    `<h3>hookchain callback</h3>${EOL}` +
      `<table><tr><th>Field</th><th>Reported</th></tr>${table.join('')}</table>${EOL}`,
  )
}

/** Table cells go into the HTML as they are: what users wrote must be escaped first. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  )
}
