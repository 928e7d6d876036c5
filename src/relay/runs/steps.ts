import type { Chain, SentStepSpec, StepSpec } from '../config/settings.js'
import type { Step } from '../model/run.js'

/** A new run's steps, every one queued, as its chain lays them out. Pure. */
export function stepsOf(chain: Chain): { steps: Step[]; onFailure: Step[] } {
  return {
    steps: chain.steps.map((spec, i) => stepOf(spec, i + 1)),
    onFailure: chain.onFailure.map((spec, i) => stepOf(spec, i + 1)),
  }
}

function stepOf(spec: StepSpec, index: number): Step {
  const step: Step = {
    index,
    kind: spec.kind,
    target: '',
    eventType: null,
    state: 'queued',
    description: null,
    context: null,
    targetUrl: null,
    generation: 1,
    startedAt: null,
    dispatchedAt: null,
    finishedAt: null,
    deadline: null,
    timeoutMs: null,
    callbacksDropped: 0,
    require: null,
    branches: [],
    decision: null,
  }
  switch (spec.kind) {
    case 'parallel':
      return {
        ...step,
        require: spec.require,
        branches: spec.branches.map((branch, b) => stepOf(branch, b + 1)),
      }
    case 'approval':
      return { ...step, timeoutMs: spec.timeoutMs }
    default:
      return { ...step, ...sentTarget(spec) }
  }
}

function sentTarget(spec: SentStepSpec): Pick<Step, 'target' | 'eventType'> {
  return spec.kind === 'dispatch'
    ? { target: spec.repository, eventType: spec.eventType }
    : { target: spec.url, eventType: null }
}
