import { TEST_SOURCE } from '../model/event.js'
import { type Image, type Run, type Step, shownTarget } from '../model/run.js'
import { toneOf } from './badges.js'
import { type Html, html } from './html.js'

/** The step that stopped the chain, when one did. */
export function stoppingStep(run: Run): Step | undefined {
  return run.steps.find((s) => s.state === 'failure' || s.state === 'error')
}

/** The step a retry starts from: the first that did not succeed (as the engine decides). */
export function retryStep(run: Run): Step | undefined {
  return run.state === 'running' || run.state === 'success'
    ? undefined
    : run.steps.find((s) => s.state !== 'success')
}

/** `Step 2 (acme/deploy) ended as failure: 3 tests failed`. */
export function whyItStopped(step: Step, steps: number): string {
  const what =
    step.kind === 'parallel'
      ? 'a parallel group'
      : step.kind === 'approval'
        ? 'an approval'
        : shownTarget(step)
  const base = `Step ${step.index} of ${steps} (${what}) ended as ${step.state}`
  return step.description ? `${base}: ${step.description}` : base
}

/** A name that may wrap after each `/`, never inside a word unless it cannot fit otherwise. */
function breakable(name: string): Html {
  const parts = name.split('/')
  return html`${parts.map((part, i) => html`${part}${i < parts.length - 1 ? html`/<wbr>` : ''}`)}`
}

/** `docker.io/acme/app` with its tag (or short digest) as a chip. */
export function imageLabel(image: Pick<Image, 'registry' | 'repository' | 'tag' | 'digest'>): Html {
  const version = image.tag
    ? html`<span class="tag" title="tag">${image.tag}</span>`
    : image.digest
      ? html`<span class="tag" title="${image.digest}">${shortDigest(image.digest)}</span>`
      : ''
  return html`<span class="ref"><span class="repo">${image.registry}/<wbr></span>${breakable(image.repository)}</span> ${version}`
}

/** A digest, shortened, with the whole in its title and a button that copies it (with JavaScript). */
export function digestChip(digest: string): Html {
  return html`<span class="digest"><code title="${digest}">${shortDigest(digest)}</code><button class="copy" type="button" data-copy="${digest}" hidden>Copy</button></span>`
}

/** The badge of a run or event from the chains page's "send a test event", not from a registry. */
export function testBadge(source: string): Html {
  return source === TEST_SOURCE
    ? html`<span class="badge badge-idle" title="Sent from the chains page, not by a registry">test</span>`
    : html``
}

export function shortDigest(digest: string): string {
  const [algorithm, hex] = digest.split(':', 2)
  return hex ? `${algorithm}:${hex.slice(0, 12)}` : digest.slice(0, 19)
}

/** One dot per step, coloured by state, with the states in words for screen readers and tooltips. */
export function stepDots(run: Run): Html {
  const done = run.steps.filter((s) => s.state === 'success').length
  return html`<span class="steps"><ol class="dots" aria-label="Steps">${run.steps.map(
    (s) =>
      html`<li class="dot dot-${toneOf(s.state)}" title="Step ${s.index}: ${shownTarget(s)} — ${s.state}"><span class="visually-hidden">Step ${s.index} ${s.state}</span></li>`,
  )}</ol><span class="dots-count">${done}/${run.steps.length} done</span></span>`
}
