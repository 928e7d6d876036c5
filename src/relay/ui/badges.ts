import type { EventOutcome } from '../model/event.js'
import type { RunState, StepState } from '../model/run.js'
import { type Html, html } from './html.js'

/** The colour family of a badge; the text always says the state too, so colour is never alone. */
type Tone = 'ok' | 'bad' | 'warn' | 'active' | 'idle'

const STATES: Record<RunState | StepState, { tone: Tone; icon: string }> = {
  success: { tone: 'ok', icon: '✓' },
  failure: { tone: 'bad', icon: '✕' },
  error: { tone: 'warn', icon: '!' },
  running: { tone: 'active', icon: '●' },
  pending: { tone: 'active', icon: '…' },
  dispatching: { tone: 'active', icon: '↗' },
  waiting: { tone: 'active', icon: '⏸' },
  queued: { tone: 'idle', icon: '○' },
  cancelled: { tone: 'idle', icon: '⊘' },
  skipped: { tone: 'idle', icon: '–' },
}

const OUTCOMES: Record<EventOutcome, { tone: Tone; icon: string }> = {
  started: { tone: 'ok', icon: '▶' },
  unmatched: { tone: 'idle', icon: '○' },
  ignored: { tone: 'idle', icon: '–' },
  rejected: { tone: 'bad', icon: '✕' },
}

export function stateBadge(state: RunState | StepState): Html {
  return badge(state, STATES[state])
}

export function outcomeBadge(outcome: EventOutcome): Html {
  return badge(outcome, OUTCOMES[outcome])
}

/** A callback's state: the four the schema allows. */
export function reportBadge(state: 'success' | 'failure' | 'error' | 'pending'): Html {
  return badge(state, STATES[state])
}

function badge(text: string, { tone, icon }: { tone: Tone; icon: string }): Html {
  return html`<span class="badge badge-${tone}"><span class="badge-icon" aria-hidden="true">${icon}</span>${text}</span>`
}

/** The marker colour of a state, for the timeline and the step dots. */
export function toneOf(state: RunState | StepState): Tone {
  return STATES[state].tone
}
