import type { IncomingHttpHeaders } from 'node:http'
import { readBody, startLoopbackServer, waitUntil } from './loopback-server.js'

// A stand-in for a Slack incoming webhook (hooks.slack.com/services/T…/B…/…), holding requests to
// what Slack takes: a POST of a JSON object (or a form with `payload=`) with a non-empty `text`,
// or `blocks` of typed blocks; answered `200 ok` as text/plain. Refusals are Slack's own: 400
// `invalid_payload`, 400 `no_text`, 400 `invalid_blocks`, 404 `no_service` for a path that is no
// webhook. Slack posts text it cannot read as it is; the stand-in lists such text as `problems`
// so that a test can require there are none.

/** Slack's answer to a webhook it cannot take, and to one that is fine for now but not today. */
export interface SlackFault {
  status: number
  /** Slack's error string, sent as the body: `rollup_error`, `rate_limited`… */
  error: string
  retryAfterSeconds?: number
}

export interface SlackLink {
  url: string
  label: string | null
}

export interface SlackMessage {
  /** `/services/T…/B…/…` */
  path: string
  headers: IncomingHttpHeaders
  text: string | null
  blocks: unknown[] | null
  /** Every `<url|label>` of the text, in order. */
  links: SlackLink[]
  /** The text as a person reads it: links as their labels, entities decoded. */
  shown: string
  /** Whatever Slack would not render as the sender meant it (a stray `<` or `&`). */
  problems: string[]
  receivedAt: Date
  /** What it was answered. */
  status: number
}

export interface SlackStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string
  /** A webhook URL of this stand-in, as Slack hands one out. */
  webhookUrl(channel: string): string
  /** Every request, accepted or not. */
  messages: SlackMessage[]
  /** The messages Slack took (answered 200). */
  posted(): SlackMessage[]
  /** The next `times` requests are answered with this fault. */
  failNext(times: number, fault: SlackFault): void
  /** Resolves once `count` messages were posted (answered 200). */
  waitForPosts(count: number, timeoutMs?: number): Promise<SlackMessage[]>
  close(): Promise<void>
}

/** The secret last part of every webhook URL of the stand-in, as random as Slack's. */
export const SLACK_TOKEN = 'q8Rz3LmN0vT5wXy2Kp7Hd4Fs'
const WEBHOOK_PATH = /^\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+$/
const MAX_BLOCKS = 50
const MAX_TEXT = 40_000

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const messages: SlackMessage[] = []
  const faults: { remaining: number; fault: SlackFault }[] = []
  const listeners = new Set<() => void>()

  const server = await startLoopbackServer(async (request, response) => {
    const raw = await readBody(request)
    const path = request.url ?? '/'
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
      response.end(body)
      return status
    }
    const record = (status: number, message: Partial<SlackMessage> = {}) => {
      messages.push({
        path,
        headers: request.headers,
        text: null,
        blocks: null,
        links: [],
        shown: '',
        problems: [],
        receivedAt: new Date(),
        ...message,
        status,
      })
      for (const listener of listeners) listener()
    }

    if (request.method !== 'POST') return record(answer(405, 'invalid_method'))
    if (!WEBHOOK_PATH.test(path)) return record(answer(404, 'no_service'))
    const fault = faults.find((f) => f.remaining > 0)
    if (fault) {
      fault.remaining -= 1
      const retry = fault.fault.retryAfterSeconds
      const headers: Record<string, string> =
        retry === undefined ? {} : { 'retry-after': String(retry) }
      return record(answer(fault.fault.status, fault.fault.error, headers))
    }
    const body = payloadOf(request.headers['content-type'], raw)
    if (body === undefined) return record(answer(400, 'invalid_payload'))
    const text = typeof body.text === 'string' && body.text.trim() !== '' ? body.text : null
    const blocks = Array.isArray(body.blocks) && body.blocks.length > 0 ? body.blocks : null
    if (blocks && (blocks.length > MAX_BLOCKS || !blocks.every(isTypedBlock))) {
      return record(answer(400, 'invalid_blocks'))
    }
    if (!text && !blocks) return record(answer(400, 'no_text'))
    const read = text ? readText(text) : { links: [], shown: '', problems: [] }
    if (text && text.length > MAX_TEXT) read.problems.push(`text is cut at ${MAX_TEXT} characters`)
    record(answer(200, 'ok'), { text, blocks, ...read })
  })

  return {
    url: server.url,
    webhookUrl: (channel) =>
      `${server.url}/services/T0001/B${channel.toUpperCase().replace(/[^A-Z0-9]/g, '')}/${SLACK_TOKEN}`,
    messages,
    posted: () => messages.filter((m) => m.status === 200),
    failNext(times, fault) {
      faults.push({ remaining: times, fault })
    },
    waitForPosts(count, timeoutMs = 5000) {
      return waitUntil(
        () => {
          const posted = messages.filter((m) => m.status === 200)
          return posted.length >= count ? posted : undefined
        },
        (changed) => {
          listeners.add(changed)
          return () => listeners.delete(changed)
        },
        timeoutMs,
        () => `Slack got ${messages.filter((m) => m.status === 200).length} of ${count} messages`,
      )
    },
    close: () => server.close(),
  }
}

/** The JSON object of a request, as Slack reads it; undefined when it is none. */
function payloadOf(
  contentType: string | undefined,
  raw: Buffer,
): Record<string, unknown> | undefined {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase()
  let text: string | null = raw.toString('utf8')
  if (type === 'application/x-www-form-urlencoded') {
    text = new URLSearchParams(text).get('payload')
  } else if (type !== 'application/json') {
    return undefined
  }
  try {
    const parsed: unknown = JSON.parse(text ?? '')
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined
  } catch {
    return undefined
  }
}

function isTypedBlock(block: unknown): boolean {
  return (
    typeof block === 'object' &&
    block !== null &&
    typeof (block as { type?: unknown }).type === 'string'
  )
}

/**
 * Slack's mrkdwn text: `<…>` is a link or a mention, and `&`, `<`, `>` elsewhere must be written
 * `&amp;`, `&lt;`, `&gt;`.
 */
function readText(text: string): Pick<SlackMessage, 'links' | 'shown' | 'problems'> {
  const links: SlackLink[] = []
  const problems: string[] = []
  let shown = ''
  let rest = text
  while (rest.length > 0) {
    const open = rest.indexOf('<')
    const plain = open < 0 ? rest : rest.slice(0, open)
    shown += decode(plain, problems)
    if (open < 0) break
    const close = rest.indexOf('>', open)
    const inner = close < 0 ? '' : rest.slice(open + 1, close)
    if (close < 0 || inner.includes('<')) {
      problems.push(`a "<" that opens no link: ${JSON.stringify(rest.slice(open, open + 40))}`)
      shown += '<'
      rest = rest.slice(open + 1)
      continue
    }
    const bar = inner.indexOf('|')
    const url = bar < 0 ? inner : inner.slice(0, bar)
    const label = bar < 0 ? null : inner.slice(bar + 1)
    if (/^(?:https?:\/\/|mailto:)\S+$/.test(url)) {
      links.push({ url, label })
      shown += label ?? url
    } else if (/^(?:[@#][A-Z0-9]+|!\w+)$/.test(url)) {
      shown += url
    } else {
      problems.push(`"<${inner}>" is neither a link nor a mention`)
      shown += inner
    }
    rest = rest.slice(close + 1)
  }
  return { links, shown, problems }
}

function decode(plain: string, problems: string[]): string {
  if (plain.includes('>')) problems.push(`a bare ">" in ${JSON.stringify(plain.slice(0, 40))}`)
  return plain.replace(/&(amp|lt|gt);|&/g, (_match, entity: string | undefined) => {
    if (!entity) {
      problems.push(`a bare "&" in ${JSON.stringify(plain.slice(0, 40))}`)
      return '&'
    }
    return entity === 'amp' ? '&' : entity === 'lt' ? '<' : '>'
  })
}
