import * as core from '@actions/core'
import type { Callback } from '../shared/callback.js'

export interface ReportedCallback {
  callback: Callback
  /** How the relay took it: "delivered (HTTP 200, attempt 1 of 4)" or why it failed. */
  delivery: string
  chainState: string
}

/** Writes what was reported as a table in the job summary, when the runner offers one. */
export async function writeSummary(report: ReportedCallback): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return
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
  await core.summary
    .addHeading('hookchain callback', 3)
    .addTable([
      [
        { data: 'Field', header: true },
        { data: 'Reported', header: true },
      ],
      ...rows,
    ])
    .write()
}

/** core.summary puts table cells into HTML as they are. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) =>
      ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  )
}
