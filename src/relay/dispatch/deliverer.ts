import type { Logger } from 'pino'
import type { Run, Step } from '../chains/run.js'
import type { Settings } from '../config/settings.js'
import type { DeliveryOutcome } from './attempt.js'
import { buildClientPayload, type StepContext } from './client-payload.js'
import { NoWriteSlotError } from './cluster-pacer.js'
import { createGitHubDispatcher } from './github-dispatcher.js'
import type { Deliverer } from './outbox-worker.js'
import { createLocalPacer, type WritePacer } from './pacer.js'
import { createRegistryCallbackSender } from './registry-callback-sender.js'
import { buildWebhookPayload } from './webhook-payload.js'
import { createWebhookSender } from './webhook-sender.js'
import { messageIdOf } from './webhook-signature.js'

export interface DelivererOptions {
  logger: Logger
  /** Paces GitHub writes; default: this process alone, at github.writes_per_minute. */
  pacer?: WritePacer
  /** Per outbound HTTP request. Default 10 s. */
  timeoutMs?: number
  /** Told GitHub's remaining rate limit after every answer that carries it (e.g. for a metric). */
  onRateLimit?: (remaining: number, resetAt: Date) => void
}

/** A rate limit this low is worth a warning in the log. */
const LOW_RATE_LIMIT = 100

/** The network side of the outbox: GitHub dispatches, webhook steps and registry callbacks. */
export function createDeliverer(settings: Settings, options: DelivererOptions): Deliverer {
  const { logger } = options
  const pacer = options.pacer ?? createLocalPacer(settings.github.writesPerMinute)
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
    async step(run, step, issueCallbackUrl): Promise<DeliveryOutcome> {
      const contextWith = (callbackUrl: string): StepContext => ({
        callbackUrl,
        runId: run.id,
        chain: run.chain,
        step: step.index,
        steps: run.steps.length,
        push: run.push,
      })
      if (step.kind === 'dispatch') {
        try {
          await pacer.acquire()
        } catch (error) {
          if (!(error instanceof NoWriteSlotError)) throw error
          return {
            kind: 'postponed',
            attempts: [],
            reason: error.message,
            retryAfterMs: error.retryAfterMs,
          }
        }
        const payload = buildClientPayload(contextWith(await issueCallbackUrl()))
        return github.dispatch(step.target, step.eventType ?? '', payload)
      }
      const secret = webhookSecret(settings, run, step)
      if (secret === undefined) {
        return {
          kind: 'failed',
          attempts: [],
          error: `step ${step.index} of chain ${run.chain} is no longer a webhook to this URL in the relay config, so its secret is unknown; retry the run once the config matches`,
        }
      }
      const messageId = messageIdOf(run.id, String(step.index), String(step.generation))
      const payload = buildWebhookPayload(contextWith(await issueCallbackUrl()))
      return webhooks.send(step.target, secret, payload, messageId)
    },
    registry: (_run, url, result) => registries.send(url, result),
  }
}

/** The secret of a webhook step, from the config the relay runs with; undefined when it no longer has that step. */
function webhookSecret(settings: Settings, run: Run, step: Step): string | null | undefined {
  const spec = settings.chains.find((chain) => chain.name === run.chain)?.steps[step.index - 1]
  if (spec?.kind !== 'webhook' || spec.url !== step.target) return undefined
  return spec.secret
}
