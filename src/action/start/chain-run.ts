// The relay's run, as its history API answers it, reduced to what start mode shows. Fields the
// Action does not know are ignored, so that the relay can add some.

export interface RunStep {
  index: number
  kind: string
  /** `owner/repo` of a dispatch, the URL of a webhook; empty when the relay gives none. */
  target: string
  state: string
  description: string | null
  target_url: string | null
  /** The steps of a `parallel` step; empty for any other kind. */
  branches: RunStep[]
}

export interface ChainRun {
  id: string
  chain: string
  state: string
  /** `image.reference`, when the run has one. */
  image: string | null
  steps: RunStep[]
}

/** What the relay answers to `POST /api/chains/<chain>/runs`. */
export interface StartedRun {
  run: ChainRun
  /** The run's page on the relay. */
  url: string
  /** Reads this run only: `GET /api/runs/<id>`. */
  runToken: string
}

/** How a run ends; `running` is the only other state it has. */
export const FINAL_RUN_STATES: readonly string[] = ['success', 'failure', 'error', 'cancelled']
/** How a step ends. */
export const FINAL_STEP_STATES: readonly string[] = [
  'success',
  'failure',
  'error',
  'cancelled',
  'skipped',
]
/** The step states that stop a chain. */
export const STOPPING_STEP_STATES: readonly string[] = ['failure', 'error', 'cancelled']

/** The answer is not what the relay's API answers: the message says what is missing. */
export class UnexpectedAnswerError extends Error {
  override name = 'UnexpectedAnswerError'
}

export function parseStartedRun(value: unknown): StartedRun {
  const run = parseRun(field(value, 'run'))
  const url = field(value, 'url')
  const runToken = field(value, 'run_token')
  if (typeof url !== 'string' || typeof runToken !== 'string' || runToken === '') {
    throw new UnexpectedAnswerError('the answer has no url or run_token')
  }
  return { run, url, runToken }
}

export function parseRun(value: unknown): ChainRun {
  const id = field(value, 'id')
  const state = field(value, 'state')
  const steps = field(value, 'steps')
  if (typeof id !== 'string' || typeof state !== 'string' || !Array.isArray(steps)) {
    throw new UnexpectedAnswerError('the answer is not a run with an id, a state and steps')
  }
  const reference = field(field(value, 'image'), 'reference')
  return {
    id,
    chain: text(field(value, 'chain')) ?? '',
    state,
    image: text(reference),
    steps: steps.map(parseStep),
  }
}

function parseStep(value: unknown, position: number): RunStep {
  const index = field(value, 'index')
  const state = field(value, 'state')
  if (typeof state !== 'string') {
    throw new UnexpectedAnswerError(`step ${position + 1} of the run has no state`)
  }
  const branches = field(value, 'branches')
  return {
    index: typeof index === 'number' ? index : position + 1,
    kind: text(field(value, 'kind')) ?? '',
    target: text(field(value, 'target')) ?? '',
    state,
    description: text(field(value, 'description')),
    target_url: text(field(value, 'target_url')),
    branches: Array.isArray(branches) ? branches.map(parseStep) : [],
  }
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined
}
