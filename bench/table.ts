import { cpus } from 'node:os'

/** One line of the benchmark table: a measure, what it is compared with, and the goal. */
export interface BenchRow {
  /** The module or feature measured, e.g. `action`, `relay /hooks`. */
  benchmark: string
  /** What was measured, with its method: "median wall time of 15 runs of …". */
  measure: string
  value: string
  /** What the value is compared with; empty when nothing is. */
  baseline: string
  baselineValue: string
  /** value / baseline, e.g. "1.21"; empty without a baseline. */
  ratio: string
  /** The goal, e.g. "ratio ≤ 1.3", "< 1 MB". */
  target: string
  /** Whether the goal was met; `null` when the row has no goal. */
  met: boolean | null
}

const COLUMNS: [keyof BenchRow, string][] = [
  ['benchmark', 'Benchmark'],
  ['measure', 'Measure'],
  ['value', 'Value'],
  ['baseline', 'Baseline'],
  ['baselineValue', 'Baseline value'],
  ['ratio', 'Ratio'],
  ['target', 'Target'],
  ['met', 'Met'],
]

/** The rows as one Markdown table. */
export function formatTable(rows: readonly BenchRow[]): string {
  const cell = (row: BenchRow, key: keyof BenchRow): string => {
    const value = row[key]
    if (key === 'met') return value === null ? '' : value ? 'yes' : 'no'
    return String(value).replace(/\|/g, '\\|').replace(/\n/g, ' ')
  }
  const header = `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`
  const rule = `|${COLUMNS.map(() => '---').join('|')}|`
  const lines = rows.map((row) => `| ${COLUMNS.map(([key]) => cell(row, key)).join(' | ')} |`)
  return [header, rule, ...lines].join('\n')
}

/** The machine the figures come from, as one line. */
export function describeMachine(): string {
  const model = cpus()[0]?.model.trim() || 'unknown CPU'
  return `Machine: ${model}, ${cpus().length} cores, Node ${process.version} (${process.platform}/${process.arch})`
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

export function formatMs(ms: number): string {
  return `${ms.toFixed(1)} ms`
}

/** A ratio such as value / baseline, to two decimals. */
export function formatRatio(ratio: number): string {
  return ratio.toFixed(2)
}
