import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { NotifyTarget } from '../../../src/relay/config/settings.js'
import { createNotifier } from '../../../src/relay/deliverers/notifier.js'
import type { Notification } from '../../../src/relay/runs/notification.js'
import { type HttpReceiver, startHttpReceiver } from '../../support/http-receiver.js'
import { type SlackStandIn, startSlackStandIn } from '../../support/slack-stand-in.js'

const SECRET = `whsec_${Buffer.from('notifier-test-secret-0123456789').toString('base64')}`

let slack: SlackStandIn
let receiver: HttpReceiver

beforeEach(async () => {
  slack = await startSlackStandIn()
  receiver = await startHttpReceiver()
})
afterEach(async () => {
  await Promise.all([slack.close(), receiver.close()])
})

/** A failure whose description a workflow wrote: markup, a mention and an ampersand in it. */
function failed(overrides: Partial<Notification> = {}): Notification {
  return {
    event: 'failure',
    runId: '0193b0c0-0000-7000-8000-0000000000aa',
    attempt: 1,
    step: null,
    chain: 'release',
    image: 'ghcr.io/acme/app:v1.2.0',
    title: 'release failed for ghcr.io/acme/app:v1.2.0',
    detail: 'Step 2 (acme/deploy) ended as failure: <!channel> R&D says <b>no</b>',
    url: 'https://relay.example.com/runs/0193b0c0-0000-7000-8000-0000000000aa',
    ...overrides,
  }
}

const webhook = (): NotifyTarget => ({
  kind: 'webhook',
  url: `${receiver.url}/hookchain`,
  secret: SECRET,
  on: ['failure', 'approval'],
})

/** The `webhook-id` each notification was sent with, in order. */
async function messageIds(notifications: Notification[]): Promise<string[]> {
  const notifier = createNotifier()
  for (const notification of notifications) {
    expect((await notifier.send(webhook(), notification)).kind).toBe('delivered')
  }
  return receiver.requests.map((r) => String(r.headers['webhook-id']))
}

describe('the notifier', () => {
  it('posts to Slack what an incoming webhook takes, escaped, with a link to the run', async () => {
    const target: NotifyTarget = { kind: 'slack', url: slack.webhookUrl('ops'), on: ['failure'] }
    const outcome = await createNotifier().send(target, failed())

    expect(outcome).toMatchObject({ kind: 'delivered', attempts: [{ status: 200 }] })
    const [message] = slack.posted()
    expect(message?.problems).toEqual([])
    expect(message?.links).toEqual([{ url: failed().url, label: 'View the run' }])
    // The description is shown as written, and pings no one.
    expect(message?.shown).toBe(`${failed().title}\n${failed().detail}\nView the run`)
  })

  it('signs a webhook message with Standard Webhooks headers', async () => {
    await createNotifier().send(webhook(), failed())

    const [request] = receiver.requests
    const verified = new Webhook(SECRET).verify(
      request?.rawBody.toString('utf8') ?? '',
      request?.headers as Record<string, string>,
    )
    expect(verified).toEqual({
      type: 'hookchain.run.failure',
      run: {
        id: failed().runId,
        chain: 'release',
        attempt: 1,
        url: failed().url,
      },
      image: 'ghcr.io/acme/app:v1.2.0',
      title: failed().title,
      detail: failed().detail,
    })
  })

  it('keeps the message id of a notification across its tries', async () => {
    const [first, again] = await messageIds([failed(), failed()])
    expect(first).toMatch(/^msg_/)
    expect(again).toBe(first)
  })

  it.each([
    ['another attempt of the run', { attempt: 2 }],
    ['another event', { event: 'error' }],
    ['another run', { runId: '0193b0c0-0000-7000-8000-0000000000bb' }],
  ] as const)('gives %s a message id of its own', async (_, other) => {
    const ids = await messageIds([failed(), failed(other)])
    expect(new Set(ids).size).toBe(2)
  })

  it('gives each approval of a run a message id of its own', async () => {
    const waits = (step: number) => failed({ event: 'approval', step, detail: null })
    const ids = await messageIds([waits(2), waits(4)])
    expect(new Set(ids).size).toBe(2)
  })

  it('sends Discord a message that mentions no one, and Teams an Adaptive Card', async () => {
    const notifier = createNotifier()
    const to = (kind: 'discord' | 'teams'): NotifyTarget => ({
      kind,
      url: `${receiver.url}/${kind}`,
      on: ['failure'],
    })
    await notifier.send(to('discord'), failed())
    await notifier.send(to('teams'), failed())

    const [discord, teams] = receiver.requests
    expect(discord?.body).toEqual({
      content: `${failed().title}\n${failed().detail}\n${failed().url}`,
      allowed_mentions: { parse: [] },
    })
    expect(teams?.body).toMatchObject({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          content: {
            type: 'AdaptiveCard',
            body: [{ text: failed().title }, { text: failed().detail }],
            actions: [{ type: 'Action.OpenUrl', url: failed().url }],
          },
        },
      ],
    })
  })

  it('tries again after a 5xx or a 429, and gives up on a 4xx, saying what to check', async () => {
    const target: NotifyTarget = { kind: 'slack', url: slack.webhookUrl('ops'), on: ['failure'] }
    slack.failNext(1, { status: 429, error: 'rate_limited', retryAfterSeconds: 30 })
    const notifier = createNotifier()

    expect(await notifier.send(target, failed())).toMatchObject({
      kind: 'retry',
      retryAfterMs: 30_000,
    })
    const gone = { ...target, url: `${slack.url}/services/not-a-webhook` }
    const refused = await notifier.send(gone, failed())
    expect(refused).toMatchObject({ kind: 'failed', attempts: [{ status: 404 }] })
    expect(refused.kind === 'failed' && refused.error).toMatch(
      /answered 404 Not Found \("no_service"\): check the notify target's URL/,
    )
  })
})
