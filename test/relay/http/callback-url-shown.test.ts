import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GitHubStandIn, startGitHubStandIn } from '../../support/github-stand-in.js'
import { fixture, SECRETS, startTestRelay, type TestRelay, testSettings } from '../relay-harness.js'

let github: GitHubStandIn
let t: TestRelay
let eventId: string
/** The token-like segment of the Docker Hub sample's callback_url. */
const TOKEN = '2141b5bi5i5b02bec211i4eeih0242eg11000a'

beforeAll(async () => {
  github = await startGitHubStandIn()
  t = await startTestRelay(testSettings(github.url))
  expect(fixture('dockerhub-push.json')).toContain(TOKEN)
  const answer = await t.post(
    `/hooks/dockerhub/${SECRETS.dockerhub}`,
    fixture('dockerhub-push.json'),
  )
  eventId = ((await answer.json()) as { event_id: string }).event_id
})
afterAll(async () => {
  await t?.close()
  await github?.close()
})

const admin = { authorization: `Bearer ${SECRETS.admin}` }
const text = async (path: string) => (await fetch(`${t.url}${path}`, { headers: admin })).text()

describe("Docker Hub's callback_url, which lets its holder validate the push", () => {
  it('is shown without its token in the events API, in the pushes and in the payload', async () => {
    for (const path of ['/api/events', `/api/events/${eventId}`]) {
      const body = await text(path)
      expect(body, path).not.toContain(TOKEN)
      expect(body, path).toContain(
        'registry.hub.docker.com/u/svendowideit/testhook/hook/[redacted]',
      )
    }
  })

  it('is shown without its token on the event page', async () => {
    const page = await text(`/events/${eventId}`)
    expect(page).toContain('registry.hub.docker.com')
    expect(page).not.toContain(TOKEN)
  })

  it('is shown whole when asked for with reveal=callback_url', async () => {
    const event = JSON.parse(await text(`/api/events/${eventId}?reveal=callback_url`))
    expect(event.pushes[0].callback_url).toContain(TOKEN)
    expect(event.payload).toContain(TOKEN)
  })
})
