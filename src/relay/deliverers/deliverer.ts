import type { Logger } from 'pino'
import type { Callback } from '../../shared/callback.js'
import type { SentStepSpec, Settings } from '../config/settings.js'
import { type Step, type StepRef, stepName } from '../model/run.js'
import type { DeliveryOutcome } from './attempt.js'
import { buildClientPayload, type StepContext } from './client-payload.js'
import { type CommitStatusBody, createGitHubDispatcher } from './github-dispatcher.js'
import { createRegistryCallbackSender } from './registry-callback-sender.js'
import { buildWebhookPayload } from './webhook-payload.js'
import { createWebhookSender } from './webhook-sender.js'
import { messageIdOf } from './webhook-signature.js'

/** The network side of the outbox: each call sends one message and says how it went. Never throws. */
export interface Deliverer {
  /** A step's message: its repository_dispatch, or its webhook POST. */
  send(step: Step, context: StepContext): Promise<DeliveryOutcome>
  /** Tells a registry's own callback_url how a run ended. */
  registry(url: string, result: Callback): Promise<DeliveryOutcome>
  /** Sets a commit status on `sha` of the GitHub repository `owner/name`. */
  commitStatus(repository: string, sha: string, status: CommitStatusBody): Promise<DeliveryOutcome>
}

export interface DelivererOptions {
  logger: Logger
  /** Per outbound HTTP request. Default 10 s. */
  timeoutMs?: number
  /** Told GitHub's remaining rate limit after every answer that carries it (e.g. for a metric). */
  onRateLimit?: (remaining: number, resetAt: Date) => void
}

/** A rate limit this low is worth a warning in the log. */
const LOW_RATE_LIMIT = 100

/** GitHub dispatches, webhook steps and registry callbacks, for real. */
export function createDeliverer(settings: Settings, options: DelivererOptions): Deliverer {
  const { logger } = options
  const github = createGitHubDispatcher({
    github: settings.github,
    timeoutMs: options.timeoutMs,
    log: { warn: (message) => logger.warn('github: %s', message) },
    onRateLimit: (remaining, resetAt) => {
      options.onRateLimit?.(remaining, resetAt)
      if (remaining < LOW_RATE_LIMIT) {
        logger.warn(
          { remaining, resetAt },
          'GitHub rate limit nearly used up: %d requests left until %s',
          remaining,
          resetAt.toISOString(),
        )
      }
    },
  })
  const webhooks = createWebhookSender({ timeoutMs: options.timeoutMs })
  const registries = createRegistryCallbackSender({
    ...settings.registryCallbacks,
    timeoutMs: options.timeoutMs,
  })

  return {
    async send(step, context) {
      if (step.kind === 'dispatch') {
        return github.dispatch(step.target, step.eventType ?? '', buildClientPayload(context))
      }
      const secret = webhookSecret(settings, context.chain, context.ref, step)
      const name = stepName(context.ref)
      if (secret === undefined) {
        return {
          kind: 'failed',
          attempts: [],
          error: `step ${name} of chain ${context.chain} is no longer a webhook to this URL in the relay config, so its secret is unknown; retry the run once the config matches`,
        }
      }
      // A main step's name is its index, as the id was made before groups and rollbacks.
      const messageId = messageIdOf(context.runId, name, String(step.generation))
      return webhooks.send(step.target, secret, buildWebhookPayload(context), messageId)
    },
    registry: (url, result) => registries.send(url, result),
    commitStatus: (repository, sha, status) => github.commitStatus(repository, sha, status),
  }
}

/** The secret of a webhook step, from the config the relay runs with; undefined when it no longer has that step. */
function webhookSecret(
  settings: Settings,
  chain: string,
  ref: StepRef,
  step: Step,
): string | null | undefined {
  const spec = specAt(
    settings.chains.find((c) => c.name === chain),
    ref,
  )
  if (spec?.kind !== 'webhook' || spec.url !== step.target) return undefined
  return spec.secret
}

/** The config of the step at `ref`: a main step, a branch of a group, or an on_failure step. */
function specAt(
  chain: Settings['chains'][number] | undefined,
  ref: StepRef,
): SentStepSpec | undefined {
  const top = (ref.phase === 'main' ? chain?.steps : chain?.onFailure)?.[ref.index - 1]
  if (!ref.branch) return top?.kind === 'dispatch' || top?.kind === 'webhook' ? top : undefined
  return top?.kind === 'parallel' ? top.branches[ref.branch - 1] : undefined
}
