import { EOL } from 'node:os'
import { escapeHtml } from '../summary.js'
import {
  type ChainRun,
  FINAL_STEP_STATES,
  type RunStep,
  STOPPING_STEP_STATES,
} from './chain-run.js'

// What start mode prints about a run: a line per step as it ends, the sentence the step ends
// with, and the job summary. All pure, so the wording is tested without a relay.

/** A step with the label it is shown under: `2/3` for a step of the chain, `2.1` for a branch. */
export interface LabelledStep {
  label: string
  step: RunStep
  /** The parallel step a branch belongs to; null for a step of the chain. */
  group: LabelledStep | null
}

/**
 * Every step and branch in the order they end: a parallel step's branches before the step
 * (after it with `groupFirst`, as a table lists them).
 */
export function labelledSteps(run: ChainRun, groupFirst = false): LabelledStep[] {
  const all: LabelledStep[] = []
  for (const step of run.steps) {
    const top: LabelledStep = { label: `${step.index}/${run.steps.length}`, step, group: null }
    if (groupFirst) all.push(top)
    step.branches.forEach((branch, position) => {
      all.push({ label: `${step.index}.${position + 1}`, step: branch, group: top })
    })
    if (!groupFirst) all.push(top)
  }
  return all
}

/** "2/3 acme/tests: failure – 3 of 390 tests FAILED – https://…" */
export function describeStep({ label, step }: LabelledStep): string {
  const parts = [`${label} ${step.target || step.kind || 'step'}: ${step.state}`]
  if (step.description) parts.push(step.description)
  if (step.target_url) parts.push(step.target_url)
  return parts.join(' – ')
}

/**
 * The log lines for what changed since the last call: a step that ended, or that waits for an
 * approval, once per state; a branch indented under a line that names its parallel step.
 */
export class StepPrinter {
  private readonly printed = new Map<string, string>()
  private readonly opened = new Set<string>()

  linesFor(run: ChainRun): string[] {
    const lines: string[] = []
    for (const labelled of labelledSteps(run)) {
      const { label, step, group } = labelled
      const shown = FINAL_STEP_STATES.includes(step.state) || step.state === 'waiting'
      if (!shown || this.printed.get(label) === step.state) continue
      this.printed.set(label, step.state)
      if (group === null) {
        lines.push(`Step ${describeStep(labelled)}`)
        continue
      }
      if (!this.opened.has(group.label)) {
        this.opened.add(group.label)
        const branches = group.step.branches.length
        lines.push(`Step ${group.label} ${group.step.kind || 'parallel'}, ${branches} branches:`)
      }
      lines.push(`  Step ${describeStep(labelled)}`)
    }
    return lines
  }
}

/** The step that stopped the chain: the first branch or step that failed, erred or was cancelled. */
export function stoppingStep(run: ChainRun): LabelledStep | null {
  return labelledSteps(run).find(({ step }) => STOPPING_STEP_STATES.includes(step.state)) ?? null
}

/** The step the chain is at: the first one under way, else the first one not yet ended. */
export function currentStep(run: ChainRun): LabelledStep | null {
  const unfinished = labelledSteps(run).filter(
    ({ step }) => !FINAL_STEP_STATES.includes(step.state),
  )
  return unfinished.find(({ step }) => step.state !== 'queued') ?? unfinished[0] ?? null
}

/** The sentence the Action ends with once the chain has ended; `ok` says whether the step passes. */
export function chainEnded(run: ChainRun, runUrl: string): { ok: boolean; message: string } {
  const chain = `Chain "${run.chain}"`
  if (run.state === 'success') return { ok: true, message: `${chain} succeeded: ${runUrl}` }
  const stopper = stoppingStep(run)
  const at = stopper ? ` at step ${describeStep(stopper)}` : ''
  const ended = HOW_RUNS_END[run.state] ?? `ended in ${run.state}`
  return { ok: false, message: `${chain} ${ended}${at}. See ${runUrl}` }
}

const HOW_RUNS_END: Record<string, string> = {
  failure: 'failed',
  error: 'ended in error',
  cancelled: 'was cancelled',
}

/** The sentence the Action fails with when the chain did not end within wait-minutes. */
export function waitRanOut(
  run: ChainRun,
  runUrl: string,
  waitMs: number,
  lastProblem: string | null,
): string {
  const current = currentStep(run)
  const at = current ? ` at step ${describeStep(current)}` : ''
  const relay = lastProblem ? ` The relay's last answer: ${lastProblem}.` : ''
  return (
    `Chain "${run.chain}" did not end within ${formatMinutes(waitMs)}: it is still ${run.state}${at}. ` +
    `See ${runUrl}${relay}`
  )
}

export function formatMinutes(ms: number): string {
  const minutes = Number((ms / 60_000).toFixed(2))
  return minutes === 1 ? '1 minute' : `${minutes} minutes`
}

/** The job summary: the run, and a row per step and branch with its result and link. */
export function summaryOf(run: ChainRun, runUrl: string): string {
  const link = (url: string | null) =>
    url ? `<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>` : ''
  const rows = labelledSteps(run, true).map(
    ({ label, step }) =>
      `<tr><td>${escapeHtml(label)}</td><td>${escapeHtml(step.target || step.kind)}</td>` +
      `<td><code>${escapeHtml(step.state)}</code></td><td>${escapeHtml(step.description ?? '')}</td>` +
      `<td>${link(step.target_url)}</td></tr>`,
  )
  const image = run.image ? ` for <code>${escapeHtml(run.image)}</code>` : ''
  return (
    `<h3>hookchain chain ${escapeHtml(run.chain)}: <code>${escapeHtml(run.state)}</code></h3>${EOL}` +
    `<p>Run ${link(runUrl)}${image}</p>${EOL}` +
    '<table><tr><th>Step</th><th>Target</th><th>State</th><th>Description</th><th>Link</th></tr>' +
    `${rows.join('')}</table>${EOL}`
  )
}
