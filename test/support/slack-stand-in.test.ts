import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SlackStandIn, startSlackStandIn } from './slack-stand-in.js'

let slack: SlackStandIn
beforeAll(async () => {
  slack = await startSlackStandIn()
})
afterAll(() => slack.close())

function post(body: string, type = 'application/json', url = slack.webhookUrl('ops')) {
  return fetch(url, { method: 'POST', headers: { 'content-type': type }, body })
}

describe('the Slack stand-in', () => {
  it('takes text or blocks, as JSON or as a payload form field, and answers ok', async () => {
    for (const [body, type] of [
      ['{"text":"deployed"}', 'application/json'],
      ['{"blocks":[{"type":"section","text":{"type":"mrkdwn","text":"hi"}}]}', 'application/json'],
      [
        `payload=${encodeURIComponent('{"text":"from a form"}')}`,
        'application/x-www-form-urlencoded',
      ],
    ] as const) {
      const answer = await post(body, type)
      expect(answer.status, body).toBe(200)
      expect(await answer.text()).toBe('ok')
    }
  })

  it.each([
    ['not JSON', '{"text":', 'application/json', 400, 'invalid_payload'],
    ['a JSON array', '["deployed"]', 'application/json', 400, 'invalid_payload'],
    ['plain text', 'deployed', 'text/plain', 400, 'invalid_payload'],
    ['neither text nor blocks', '{"username":"hookchain"}', 'application/json', 400, 'no_text'],
    ['empty text', '{"text":"  "}', 'application/json', 400, 'no_text'],
    ['untyped blocks', '{"blocks":[{"text":"hi"}]}', 'application/json', 400, 'invalid_blocks'],
  ])('refuses %s as Slack does', async (_, body, type, status, error) => {
    const answer = await post(body, type)
    expect(answer.status).toBe(status)
    expect(await answer.text()).toBe(error)
  })

  it('answers 404 no_service on a path that is no webhook', async () => {
    const answer = await post('{"text":"x"}', 'application/json', `${slack.url}/services/nope`)
    expect([answer.status, await answer.text()]).toEqual([404, 'no_service'])
  })

  it('reads links and entities, and lists text Slack would garble', async () => {
    await post(
      JSON.stringify({
        text: 'R&amp;D &lt;3 <https://relay.example.com/runs/1|View the run> <!here>',
      }),
    )
    await post(JSON.stringify({ text: 'R&D <b>bold</b> a > b' }))
    const [clean, garbled] = slack.posted().slice(-2)
    expect(clean).toMatchObject({
      shown: 'R&D <3 View the run !here',
      links: [{ url: 'https://relay.example.com/runs/1', label: 'View the run' }],
      problems: [],
    })
    expect(garbled?.problems).toEqual([
      'a bare "&" in "R&D "',
      '"<b>" is neither a link nor a mention',
      '"</b>" is neither a link nor a mention',
      'a bare ">" in " a > b"',
    ])
  })

  it('answers the faults it is given, then takes messages again', async () => {
    slack.failNext(1, { status: 429, error: 'rate_limited', retryAfterSeconds: 3 })
    const limited = await post('{"text":"x"}')
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '3'])
    expect((await post('{"text":"x"}')).status).toBe(200)
  })
})
