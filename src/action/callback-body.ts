import {
  type Callback,
  type CallbackState,
  CONTEXT_MAX,
  DESCRIPTION_MAX,
  formatProblems,
  validateCallback,
} from '../shared/callback.js'
import { describeJob, describeTests } from './describe.js'
import { type JobStatus, stateFromJobStatus } from './job-status.js'
import type { TestCounts } from './junit.js'
import { characterLength, truncate } from './truncate.js'

/** What the body is made of: the inputs after their defaults, and the test results if any. */
export interface CallbackParts {
  state: CallbackState | null
  jobStatus: JobStatus | null
  description: string | null
  context: string | null
  targetUrl: string | null
}

export interface ComposedCallback {
  callback: Callback
  /** Things the user should fix, though the callback can still be sent. */
  warnings: string[]
}

/**
 * The callback to send. The state is the `state` input, else `failure` when a test failed,
 * else the job status; the description is the input, else the test summary, else a sentence
 * about the job. Fields over the schema's limits are cut, with a warning.
 */
export function composeCallback(parts: CallbackParts, tests: TestCounts | null): ComposedCallback {
  const warnings: string[] = []
  const state = parts.state ?? stateOf(parts.jobStatus, tests)
  const description =
    parts.description ?? (tests ? describeTests(tests) : describeJob(state, parts.jobStatus))
  const callback: Callback = {
    state,
    description: fitToLimit('description', description, DESCRIPTION_MAX, warnings),
  }
  if (parts.context) callback.context = fitToLimit('context', parts.context, CONTEXT_MAX, warnings)
  if (parts.targetUrl) callback.target_url = parts.targetUrl

  const validation = validateCallback(callback)
  if (!validation.ok) {
    throw new Error(`The callback would be rejected: ${formatProblems(validation.problems)}`)
  }
  return { callback: validation.value, warnings }
}

function stateOf(jobStatus: JobStatus | null, tests: TestCounts | null): CallbackState {
  if (tests && tests.failures + tests.errors > 0) return 'failure'
  if (jobStatus === null) throw new Error('No state: set the state input or job-status.')
  return stateFromJobStatus(jobStatus)
}

function fitToLimit(field: string, text: string, max: number, warnings: string[]): string {
  const length = characterLength(text)
  if (length <= max) return text
  warnings.push(
    `The ${field} is ${length} characters long; it was cut to the callback's limit of ${max}.`,
  )
  return truncate(text, max)
}
