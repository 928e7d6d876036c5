import {
  type ClientPayload,
  type PayloadImage,
  payloadImage,
  type StepContext,
} from './client-payload.js'

/**
 * What a `webhook` step receives: Docker Hub's push payload (as its webhook chains sent it), with
 * the relay's per-step URL as `callback_url`, and a `hookchain` object for receivers that want
 * the run and the full image reference. Docker Hub's fields hold strings where it had strings:
 * an unknown pusher or tag is `""`.
 */
export interface WebhookPayload {
  callback_url: string
  push_data: {
    /** Seconds since the epoch, as Docker Hub sends it. */
    pushed_at: number
    pusher: string
    tag: string
    /** Docker Hub listed layer ids here; registries do not tell them, so it stays empty. */
    images: string[]
  }
  repository: {
    /** The repository path in its registry: `acme/app`. */
    repo_name: string
    name: string
    namespace: string
    owner: string
    /** The Docker Hub page, for docker.io images only. */
    repo_url?: string
  }
  hookchain: {
    run_id: string
    chain: string
    step: ClientPayload['step']
    steps: number
    attempt: number
    image: PayloadImage
    pushed_at: string
    source: ClientPayload['source']
  }
}

export function buildWebhookPayload(context: StepContext): WebhookPayload {
  const { callbackUrl, runId, chain, step, steps, push, attempt } = context
  const slash = push.repository.lastIndexOf('/')
  const dockerHub = push.registry === 'docker.io'
  const namespace = slash >= 0 ? push.repository.slice(0, slash) : dockerHub ? 'library' : ''
  const name = push.repository.slice(slash + 1)
  return {
    callback_url: callbackUrl,
    push_data: {
      pushed_at: Math.floor(Date.parse(push.pushedAt) / 1000),
      pusher: push.pusher ?? '',
      tag: push.tag ?? '',
      images: [],
    },
    repository: {
      repo_name: namespace ? `${namespace}/${name}` : name,
      name,
      namespace,
      owner: namespace.split('/')[0] ?? '',
      ...(dockerHub ? { repo_url: dockerHubPage(namespace, name) } : {}),
    },
    hookchain: {
      run_id: runId,
      chain,
      step,
      steps,
      attempt,
      image: payloadImage(context),
      pushed_at: push.pushedAt,
      source: push.source,
    },
  }
}

function dockerHubPage(namespace: string, name: string): string {
  return namespace === 'library'
    ? `https://hub.docker.com/_/${name}`
    : `https://hub.docker.com/r/${namespace}/${name}`
}
