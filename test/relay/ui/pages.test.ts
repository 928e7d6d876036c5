import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../../src/relay/ids.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { createRunService } from '../../../src/relay/runs/service.js'
import type { Store } from '../../../src/relay/store/store.js'
import { STYLESHEET_HREF } from '../../../src/relay/ui/assets.js'
import { escapeHtml } from '../../../src/relay/ui/html.js'
import { push, ref, release } from '../runs/run-fixture.js'
import { sqliteFactory } from '../store/store-factories.js'
import { type History, NOT_FOUND_ERROR, seedHistory, XSS } from './history-fixture.js'
import {
  type Fetched,
  get,
  hrefs,
  type PageServer,
  rowIds,
  rowOf,
  servePages,
  stepOf,
} from './page-server.js'

const now = new Date('2026-11-26T22:00:00Z')

let store: Store
let dispose: () => Promise<void>
let server: PageServer
let history: History

beforeAll(async () => {
  ;({ store, dispose } = await sqliteFactory.create())
  history = await seedHistory(store, now)
  server = await servePages(store, () => now)
})
afterAll(async () => {
  await server?.close()
  await dispose?.()
})

const page = (path: string) => get(`${server.url}${path}`)

function expectHtml(response: Fetched, status: number): void {
  expect(response.status, response.body).toBe(status)
  expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
  expect(response.body.startsWith('<!doctype html>')).toBe(true)
}

describe('the runs list', () => {
  it('lists runs newest first, each with its state in words', async () => {
    const response = await page('/')
    expectHtml(response, 200)
    const ids = rowIds(response.body, 'run')
    expect(ids).toEqual([
      history.running,
      history.hostile,
      history.failed,
      history.errored,
      history.other,
      history.succeeded,
    ])
    expect(rowOf(response.body, 'run', history.running)).toContain('running</span>')
    expect(rowOf(response.body, 'run', history.failed)).toContain('failure</span>')
    expect(rowOf(response.body, 'run', history.errored)).toContain('error</span>')
    expect(rowOf(response.body, 'run', history.succeeded)).toContain('success</span>')
  })

  it('shows the chain, image, tag, age with the exact time, duration and why a run stopped', async () => {
    const row = rowOf((await page('/')).body, 'run', history.failed)
    expect(row).toContain(`href="/runs/${history.failed}">release</a>`)
    expect(row).toContain('docker.io/</span>acme/app</span>')
    expect(row).toContain('<span class="tag" title="tag">v1.2.0</span>')
    expect(row).toContain(
      '<time datetime="2026-11-26T21:30:00.000Z" title="2026-11-26 21:30:00 UTC">30 min ago</time>',
    )
    expect(row).toContain('10 min')
    expect(row).toContain(
      'Step 2 of 3 (acme/deploy) ended as failure: Smoke test failed: /health answered 503',
    )
    expect(row).toContain('1/3 done')
  })

  it('narrows the list by repository, chain and state', async () => {
    const ids = async (query: string) => rowIds((await page(`/?${query}`)).body, 'run')
    expect(await ids('repository=acme%2Fother')).toEqual([history.other])
    expect(await ids('chain=nightly')).toEqual([history.other])
    expect(await ids('state=failure')).toEqual([history.hostile, history.failed])
    expect(await ids('state=failure&repository=acme%2Fother')).toEqual([])
    expect(await ids('repository=&chain=&state=')).toHaveLength(6)
  })

  it('keeps the filters in the form and says when nothing matches', async () => {
    const response = await page('/?chain=nope&state=error')
    expectHtml(response, 200)
    expect(response.body).toContain('name="chain" value="nope"')
    expect(response.body).toContain('<option value="error" selected>error</option>')
    expect(response.body).toContain('No runs match these filters.')
    expect(hrefs(response.body)).toContain('/')
  })

  it('echoes a filter value back into the form only escaped', async () => {
    const value = '"><script>alert(1)</script>'
    const response = await page(`/?repository=${encodeURIComponent(value)}`)
    expectHtml(response, 200)
    expect(response.body).toContain(`name="repository" value="${escapeHtml(value)}"`)
    expect(response.body).not.toContain('<script>')
  })

  it('pages through older runs with the cursor, keeping filters', async () => {
    const first = await page('/?limit=4')
    expect(rowIds(first.body, 'run')).toHaveLength(4)
    const older = hrefs(first.body).find((href) => href.includes('cursor='))
    expect(older).toBe(`/?limit=4&cursor=${history.errored}`)
    expect(first.body).toContain('Older runs →')
    expect(first.body).not.toContain('← Newest')

    const second = await page(older ?? '')
    expect(rowIds(second.body, 'run')).toEqual([history.other, history.succeeded])
    expect(second.body).not.toContain('Older runs')
    expect(hrefs(second.body)).toContain('/?limit=4')

    const filtered = await page('/?state=failure&limit=1')
    expect(hrefs(filtered.body)).toContain(`/?state=failure&limit=1&cursor=${history.hostile}`)
  })

  it('refreshes itself only while a run on the page is going', async () => {
    const refresh = '<meta http-equiv="refresh" content="5">'
    expect((await page('/')).body).toContain(refresh)
    expect((await page('/?state=running')).body).toContain(refresh)
    expect((await page('/?state=failure')).body).not.toContain(refresh)
    expect((await page(`/?limit=4&cursor=${history.errored}`)).body).not.toContain(refresh)
    expect((await page(`/runs/${history.running}`)).body).toContain(refresh)
    expect((await page(`/runs/${history.failed}`)).body).not.toContain(refresh)
  })

  it('links a stylesheet it serves itself, cached for a year, in light and dark', async () => {
    const list = (await page('/')).body
    expect(list).toContain(`<link rel="stylesheet" href="${STYLESHEET_HREF}">`)
    expect(hrefs(list).filter((href) => href.startsWith('http'))).toEqual([])
    const css = await page(STYLESHEET_HREF)
    expect(css.status).toBe(200)
    expect(css.headers.get('content-type')).toMatch(/^text\/css/)
    expect(css.headers.get('cache-control')).toContain('max-age=31536000')
    expect(css.body).toContain('prefers-color-scheme: dark')
    expect(css.body).toContain('@media (max-width: 640px)')
    expect(css.body).not.toMatch(/url\(|@import/)
    const icon = await page('/assets/favicon.svg')
    expect(icon.headers.get('content-type')).toMatch(/^image\/svg\+xml/)
    expect(icon.body).toMatch(/^<svg /)
  })
})

describe('a run page', () => {
  it('shows the header: chain, image, state, times, source, pusher and the event', async () => {
    const response = await page(`/runs/${history.failed}`)
    expectHtml(response, 200)
    const { body } = response
    expect(body).toContain('<h1>release</h1>')
    expect(body).toContain('<code>docker.io/acme/app:v1.2.0</code>')
    expect(body).toContain('<dt>Source</dt><dd>dockerhub</dd>')
    expect(body).toContain('<dt>Pusher</dt><dd>trustedbuilder</dd>')
    expect(body).toContain('2026-11-26 21:30:00 UTC')
    expect(body).toContain('2026-11-26 21:40:00 UTC')
    expect(body).toContain(`href="/events/${history.failedEvent}"`)
  })

  it('shows every step with its target, reports, attempts and callbacks', async () => {
    const { body } = await page(`/runs/${history.failed}`)
    const first = stepOf(body, 1)
    expect(first).toContain(
      'href="https://github.com/acme/integration-tests/actions" rel="noopener noreferrer">acme/integration-tests</a>',
    )
    expect(first).toContain('Dispatch attempt: HTTP 204 No Content')
    expect(first).toContain('pending</span>')
    expect(first).toContain('Running 387 tests')
    expect(first).toContain(
      '<a class="external" href="https://github.com/acme/integration-tests/actions/runs/42" rel="noopener noreferrer">',
    )
    expect(first).toContain('387 tests PASSED')
    expect(first).toContain('took 6 min')

    const second = stepOf(body, 2)
    expect(second).toContain('failure</span>')
    expect(second).toContain('Smoke test failed: /health answered 503')
    expect(second).toContain('deploy / smoke-test')
    expect(second).toContain('href="https://github.com/acme/deploy/actions/runs/43"')
    expect(second).toContain('Dispatch attempt: HTTP 502 Bad Gateway')
    expect(second).toContain(
      '<p class="attempt-error">GitHub answered 502 Bad Gateway; trying again in 2 s</p>',
    )
    expect(second).toContain('Refused: it arrived after the step had ended')
    expect(second).toContain('A late success that must not count')

    const third = stepOf(body, 3)
    expect(third).toContain('Webhook to <code>https://changelog.example.com/hook</code>')
    expect(third).toContain('Not run: the chain stopped at step 2')
  })

  it('says why a failed run stopped and offers a retry form that needs no JavaScript', async () => {
    const { body } = await page(`/runs/${history.failed}`)
    expect(body).toContain('Why it stopped')
    expect(body).toContain(
      `<form class="retry" method="post" action="/runs/${history.failed}/retry">`,
    )
    expect(body).toContain('<button class="button" type="submit">Retry from step 2</button>')
    expect(body).toContain('Step 1 succeeded and is not run again.')
    expect(body).not.toContain('<script')
  })

  it('puts the dispatcher’s words for a refused dispatch where they cannot be missed', async () => {
    const { body } = await page(`/runs/${history.errored}`)
    const step = stepOf(body, 1)
    expect(step).toContain('Dispatch attempt: HTTP 404 Not Found')
    expect(step).toContain(`<p class="attempt-error">${escapeHtml(NOT_FOUND_ERROR)}</p>`)
    expect(body).toContain(
      `Step 1 of 3 (acme/integration-tests) ended as error: ${escapeHtml(NOT_FOUND_ERROR)}`,
    )
    expect(body).toContain('Retry from step 1')
  })

  it('shows the registry callback without the secret in its URL, and no retry for a success', async () => {
    const { body } = await page(`/runs/${history.succeeded}`)
    expect(body).toContain('<h2>Registry callback</h2>')
    expect(body).toContain('The relay reported the run&#39;s result to registry.hub.docker.com.')
    expect(body).toContain('Callback attempt: HTTP 200 OK')
    expect(body).not.toContain('2141b5bi5i5b02bec211i4eeih0242eg11000a')
    expect(body).not.toContain('/retry')
    expect((await page(`/runs/${history.failed}`)).body).not.toContain('Registry callback')
  })

  it('escapes markup in tags, descriptions and contexts and never links a javascript: URL', async () => {
    for (const path of ['/', `/runs/${history.hostile}`, '/events']) {
      const { body, headers } = await page(path)
      expect(body).not.toContain('<img')
      expect(body).not.toContain('<b>')
      expect(body).not.toContain('onerror="')
      for (const href of hrefs(body)) expect(href).toMatch(/^(\/|https?:\/\/)/)
      expect(headers.get('content-security-policy')).toContain("default-src 'none'")
    }
    const { body } = await page(`/runs/${history.hostile}`)
    expect(body).toContain(escapeHtml(XSS.tag))
    expect(body).toContain(escapeHtml(XSS.description))
    expect(body).toContain(escapeHtml(XSS.context))
    expect(body).toContain(
      `<span class="unlinked" title="Not an http(s) URL, so not a link">${XSS.targetUrl}</span>`,
    )
  })

  it('answers an unknown run with a 404 page and a way back', async () => {
    for (const id of [newId(now.getTime()), 'not-a-run-id', '<script>alert(1)</script>']) {
      const response = await page(`/runs/${encodeURIComponent(id)}`)
      expectHtml(response, 404)
      expect(response.body).toContain('<h1>Run not found</h1>')
      expect(response.body).toContain(`There is no run ${escapeHtml(id)}.`)
      expect(response.body).toContain('<a href="/">← Every run</a>')
      expect(response.body).not.toContain('<script>')
    }
  })
})

describe('bad filters', () => {
  it('answer a 400 page that says what is wrong', async () => {
    const cases: [string, string][] = [
      [
        '/?state=exploded',
        'Query parameter &quot;state&quot; must be one of running, success, failure, error, cancelled.',
      ],
      [
        '/?state=a&state=b',
        'Query parameter &quot;state&quot; must be given once, as a plain value.',
      ],
      [
        '/?cursor=nope',
        'Query parameter &quot;cursor&quot; must be a next_cursor value from an earlier page.',
      ],
      ['/?limit=1000', 'Query parameter &quot;limit&quot; must be a whole number from 1 to 100.'],
      [
        '/events?outcome=lost',
        'Query parameter &quot;outcome&quot; must be one of started, unmatched, ignored, rejected.',
      ],
      ['/events?source=ftp', 'Query parameter &quot;source&quot; must be one of dockerhub'],
    ]
    for (const [path, message] of cases) {
      const response = await page(path)
      expectHtml(response, 400)
      expect(response.body).toContain('<h1>Invalid query parameter</h1>')
      expect(response.body).toContain(message)
      expect(response.body).toContain(`href="${path.startsWith('/events') ? '/events' : '/'}"`)
    }
  })
})

describe('the events pages', () => {
  it('list every event with its outcome, reason, images and runs', async () => {
    const response = await page('/events')
    expectHtml(response, 200)
    const ids = rowIds(response.body, 'event')
    expect(ids).toHaveLength(8)
    expect(ids[0]).toBe(history.unmatchedEvent)
    const ignored = rowOf(response.body, 'event', history.ignoredEvent)
    expect(ignored).toContain('ignored</span>')
    expect(ignored).toContain('a blob push, not a manifest')
    const unmatched = rowOf(response.body, 'event', history.unmatchedEvent)
    expect(unmatched).toContain('no chain matches docker.io/acme/unwatched:dev')
    expect(unmatched).toContain('acme/unwatched</span>')
    const started = rowOf(response.body, 'event', history.failedEvent)
    expect(started).toContain('started</span>')
    expect(started).toContain(`<a href="/runs/${history.failed}">release</a>`)
    expect(started).toContain('failure</span>')
    expect(response.body).not.toContain('<meta http-equiv="refresh"')
  })

  it('filter by source and outcome, and page', async () => {
    const ids = async (query: string) => rowIds((await page(`/events?${query}`)).body, 'event')
    expect(await ids('outcome=ignored')).toEqual([history.ignoredEvent])
    expect(await ids('source=quay')).toHaveLength(1)
    expect(await ids('source=quay&outcome=unmatched')).toEqual([])
    const first = await page('/events?outcome=started&limit=5')
    expect(rowIds(first.body, 'event')).toHaveLength(5)
    const older = hrefs(first.body).find((href) => href.includes('cursor='))
    expect(older).toMatch(/^\/events\?outcome=started&limit=5&cursor=/)
    expect(rowIds((await page(older ?? '')).body, 'event')).toHaveLength(1)
  })

  it('show one event with its raw payload pretty-printed and escaped', async () => {
    const response = await page(`/events/${history.failedEvent}`)
    expectHtml(response, 200)
    expect(response.body).toContain('<h1>Event from dockerhub</h1>')
    expect(response.body).toContain('<code>delivery-')
    expect(response.body).toContain('\n  &quot;pushes&quot;: [\n    {\n')
    expect(response.body).toContain(
      '&quot;note&quot;: &quot;&lt;script&gt;alert(\\&quot;payload\\&quot;)&lt;/script&gt;&quot;',
    )
    expect(response.body).toContain(`<a href="/runs/${history.failed}">release</a>`)
  })

  it('say why an event started nothing', async () => {
    const { body } = await page(`/events/${history.ignoredEvent}`)
    expect(body).toContain('Why it started nothing')
    expect(body).toContain('a blob push, not a manifest')
    expect(body).toContain('The delivery named no image push.')
  })

  it('answer an unknown event with a 404 page', async () => {
    const response = await page(`/events/${newId(now.getTime())}`)
    expectHtml(response, 404)
    expect(response.body).toContain('<h1>Event not found</h1>')
    expect(response.body).toContain('<a href="/events">← Every event</a>')
  })
})

describe('a retried run', () => {
  it('keeps the reports of the try before the retry apart from the current one', async () => {
    const { store: own, dispose: disposeOwn } = await sqliteFactory.create()
    const own_server = await servePages(own, () => now)
    try {
      const t = (minutes: number) => new Date(now.getTime() + minutes * 60_000)
      const intake = takeIn(
        {
          source: 'dockerhub',
          normalised: { deliveryId: 'retried', pushes: [push], ignored: null },
          contentType: 'application/json',
          payload: '{}',
          receivedAt: t(-10),
        },
        [release],
      )
      await own.recordEvent(intake.event, intake.runs, intake.jobs)
      const id = intake.runs[0]?.id ?? ''
      let clock = t(-9)
      const runs = createRunService({
        store: own,
        chains: () => [release],
        now: () => clock,
        logger: pino({ level: 'silent' }),
        onWork: () => {},
      })
      const run = await runs.findRun(id)
      await runs.delivered(run, ref(1), run.steps[0] as (typeof run.steps)[0])
      clock = t(-8)
      const token = { runId: id, ref: ref(1), generation: 1 }
      await runs.callback(token, { state: 'failure', description: 'first try failed' })
      clock = t(-5)
      await runs.retry(id)
      clock = t(-4)
      await runs.callback(
        { ...token, generation: 2 },
        { state: 'pending', description: 'second try under way' },
      )

      const { body } = await get(`${own_server.url}/runs/${id}`)
      const step = stepOf(body, 1)
      const earlier = step.slice(step.indexOf('<details class="earlier">'))
      expect(earlier).toContain('Earlier tries of this step, before the run was retried (1)')
      expect(earlier).toContain('first try failed')
      const current = step.slice(0, step.indexOf('<details class="earlier">'))
      expect(current).toContain('second try under way')
      expect(current).not.toContain('first try failed')
      expect(body).not.toContain('/retry')
    } finally {
      await own_server.close()
      await disposeOwn()
    }
  })
})
