import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { newId } from '../../../src/relay/ids.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { createRunService } from '../../../src/relay/runs/service.js'
import { sourceWebhooks } from '../../../src/relay/sources/webhook-setup.js'
import type { Store } from '../../../src/relay/store/store.js'
import { SCRIPT_HREF, STYLESHEET_HREF } from '../../../src/relay/ui/assets.js'
import { escapeHtml } from '../../../src/relay/ui/html.js'
import { push, ref, release } from '../runs/run-fixture.js'
import { sqliteFactory } from '../store/store-factories.js'
import {
  chains,
  DIGEST,
  type History,
  NOT_FOUND_ERROR,
  seedHistory,
  XSS,
} from './history-fixture.js'
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
  server = await servePages(store, () => now, { chains: () => chains })
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
    expect(row).toContain('docker.io/<wbr></span>acme/<wbr>app</span>')
    expect(row).toContain('<span class="tag" title="tag">v1.2.0</span>')
    expect(row).toContain(
      '<time datetime="2026-11-26T21:30:00.000Z" data-format="age" title="2026-11-26 21:30:00 UTC">30 min ago</time>',
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

  it('keeps the search in its box and says when nothing matches', async () => {
    const response = await page('/?chain=nope&state=error')
    expectHtml(response, 200)
    expect(response.body).toContain('name="q" value="chain:nope"')
    expect(response.body).toContain('<option value="error" selected>error</option>')
    expect(response.body).toContain('No runs match this search.')
    expect(hrefs(response.body)).toContain('/')
  })

  it('echoes a search back into the form only escaped', async () => {
    const value = '"><script>alert(1)</script>'
    const response = await page(`/?repository=${encodeURIComponent(value)}`)
    expectHtml(response, 200)
    expect(response.body).toContain(`name="q" value="repository:${escapeHtml(value)}"`)
    expect(response.body).not.toContain('<script>')
  })

  it('takes everything from one search box: words, key:value terms, globs and times', async () => {
    const ids = async (q: string) =>
      rowIds((await page(`/?q=${encodeURIComponent(q)}`)).body, 'run')
    expect(await ids('nightly')).toEqual([history.other])
    expect(await ids('quay.io/acme/other')).toEqual([history.other])
    expect(await ids('acme/*')).toHaveLength(6)
    expect(await ids('tag:v1.*')).toEqual([history.running, history.failed, history.errored])
    expect(await ids('release tag:v1.*  pusher:trusted')).toEqual([
      history.running,
      history.failed,
      history.errored,
    ])
    expect(await ids(`digest:${DIGEST.slice(0, 15)}`)).toEqual([history.errored])
    expect(await ids(DIGEST.slice(7, 19))).toEqual([history.errored])
    expect(await ids('since:15m')).toEqual([history.running, history.hostile])
    expect(await ids('until:2026-11-26T21:00:00Z')).toEqual([history.other, history.succeeded])
    expect(await ids('since:2026-11-27')).toEqual([])
    expect(await ids('until:2026-11-25')).toEqual([])
    expect(await ids('until:2026-11-26')).toHaveLength(6)
    expect(await ids('until:2026-11-26 state:running')).toEqual([history.running])
    const kept = await page(`/?q=${encodeURIComponent('tag:v1.*  release')}&state=failure`)
    expect(kept.body).toContain('name="q" value="tag:v1.* release"')
    expect(rowIds(kept.body, 'run')).toEqual([history.failed])
    const paged = await page('/?repository=acme%2Fapp&limit=1')
    expect(hrefs(paged.body)).toContain(
      `/?q=repository%3Aacme%2Fapp&limit=1&cursor=${history.running}`,
    )
  })

  it('shows a digest shortened, whole in its title, with a copy button for script', async () => {
    const row = rowOf((await page('/')).body, 'run', history.errored)
    expect(row).toContain(
      `<span class="digest"><code title="${DIGEST}">${DIGEST.slice(0, 19)}</code><button class="copy" type="button" data-copy="${DIGEST}" hidden>Copy</button></span>`,
    )
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

  it('follows a running run live, with a refresh link for a browser without JavaScript', async () => {
    const live = '<body data-live-seconds="5">'
    const list = (await page('/?state=running')).body
    expect(list).toContain(live)
    expect(list).toContain('<a href="/?state=running" data-refresh>Refresh</a>')
    expect(list).toContain('<div id="runs-live" data-live-region>')
    expect((await page('/')).body).toContain(live)
    expect((await page('/?state=failure')).body).not.toContain('data-live-seconds')
    expect((await page(`/?limit=4&cursor=${history.errored}`)).body).not.toContain(
      'data-live-seconds',
    )
    const run = (await page(`/runs/${history.running}`)).body
    expect(run).toContain(live)
    expect(run).toContain(`<a href="/runs/${history.running}" data-refresh>Refresh</a>`)
    expect(run).toContain('<div id="run-live" data-live-region>')
    expect((await page(`/runs/${history.failed}`)).body).not.toContain('data-live-seconds')
    expect(list).not.toContain('http-equiv="refresh"')
  })

  it('serves its one script, which the pages load and nothing else', async () => {
    const list = (await page('/')).body
    expect(list.match(/<script[^>]*>/g)).toEqual([`<script src="${SCRIPT_HREF}" defer>`])
    const script = await page(SCRIPT_HREF)
    expect(script.status).toBe(200)
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(script.headers.get('cache-control')).toContain('immutable')
    expect(script.body).toContain('data-live-region')
    const { headers } = await page('/')
    expect(headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(headers.get('content-security-policy')).not.toContain('unsafe-inline')
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
    // The page's only script is the relay's own file: the form posts without it.
    expect(body.match(/<script[^>]*>/g)).toEqual([`<script src="${SCRIPT_HREF}" defer>`])
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
    expect(body).toContain('sent</span> Sent to registry.hub.docker.com, which answered HTTP 200.')
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
      [
        '/?chian=release',
        'Query parameter &quot;chian&quot; is not a parameter of this route; did you mean chain?',
      ],
      ['/events?repo=acme', 'Query parameter &quot;repo&quot; is not a parameter of this route'],
      [
        '/?q=stat%3Afailure',
        'Query parameter &quot;q&quot; names no search key in &quot;stat:failure&quot;; did you mean state?',
      ],
      ['/?q=tag%3Aa+tag%3Ab', 'Query parameter &quot;q&quot; gives tag twice; give it once.'],
      [
        '/?q=state%3Adone',
        'Query parameter &quot;q&quot; has state, which must be one of running, success',
      ],
      ['/?since=yesterday', 'Query parameter &quot;since&quot; must be a date (2026-11-26)'],
      ['/?digest=xyz', 'Query parameter &quot;digest&quot; must be the start of a digest'],
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
    expect(unmatched).toContain('acme/<wbr>unwatched</span>')
    expect(unmatched).toContain(`<a class="row-link" href="/events/${history.unmatchedEvent}"`)
    const started = rowOf(response.body, 'event', history.failedEvent)
    expect(started).toContain('started</span>')
    expect(started).toContain(`<a href="/runs/${history.failed}">release</a>`)
    expect(started).toContain('failure</span>')
    expect(response.body).not.toContain('<meta http-equiv="refresh"')
  })

  it('filter by repository and tag as the runs do, and keep them in the form', async () => {
    const ids = async (query: string) => rowIds((await page(`/events?${query}`)).body, 'event')
    expect(await ids('repository=unwatched')).toEqual([history.unmatchedEvent])
    expect(await ids('repository=acme%2F*&tag=dev')).toEqual([history.unmatchedEvent])
    expect(await ids('repository=quay.io%2Facme%2Fother')).toHaveLength(1)
    expect(await ids('tag=v1.*')).toHaveLength(3)
    const { body } = await page('/events?repository=acme%2F*&tag=v1.*')
    expect(body).toContain('name="repository" value="acme/*"')
    expect(body).toContain('name="tag" value="v1.*"')
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
          normalised: {
            deliveryId: 'retried',
            pushes: [{ ...push, digest: DIGEST }],
            ignored: null,
          },
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
      const earlier = step.slice(step.indexOf('<details class="earlier"'))
      expect(earlier).toContain('Earlier tries of this step, before the run was retried (1)')
      expect(earlier).toContain('first try failed')
      const current = step.slice(0, step.indexOf('<details class="earlier"'))
      expect(current).toContain('second try under way')
      expect(current).not.toContain('first try failed')
      expect(body).not.toContain('/retry')
    } finally {
      await own_server.close()
      await disposeOwn()
    }
  })
})

describe('what happened, in words', () => {
  let own: Store
  let disposeOwn: () => Promise<void>
  let ownServer: PageServer
  let clock: Date
  const t = (minutes: number) => new Date(now.getTime() + minutes * 60_000)
  const SECRET = 'dockerhub-secret-never-shown-0123'

  beforeAll(async () => {
    ;({ store: own, dispose: disposeOwn } = await sqliteFactory.create())
    ownServer = await servePages(own, () => now, {
      chains: () => chains,
      publicUrl: 'https://relay.example.com',
      registryPolicy: { allowedHosts: ['registry.hub.docker.com'], allowHttp: false },
      webhooks: () =>
        sourceWebhooks(
          'https://relay.example.com',
          { dockerhub: { secret: SECRET }, distribution: { token: `${SECRET}-token` } },
          { masked: true },
        ),
    })
  })
  afterAll(async () => {
    await ownServer?.close()
    await disposeOwn?.()
  })
  const ownPage = (path: string) => get(`${ownServer.url}${path}`)

  async function start(deliveryId: string, overrides: Partial<typeof push>, at: Date) {
    const intake = takeIn(
      {
        source: 'dockerhub',
        normalised: { deliveryId, pushes: [{ ...push, ...overrides }], ignored: null },
        contentType: 'application/json',
        payload: '{}',
        receivedAt: at,
      },
      chains,
    )
    await own.recordEvent(intake.event, intake.runs, intake.jobs)
    return intake
  }
  const service = () =>
    createRunService({
      store: own,
      chains: () => chains,
      now: () => clock,
      logger: pino({ level: 'silent' }),
      onWork: () => {},
    })

  it('names the usual causes when a dispatched step never reported, and links its runs', async () => {
    clock = t(-60)
    // Pinned, so that the first step is dispatched at once rather than after reading the registry.
    const { runs } = await start(
      'silent',
      { tag: 'v2.0.0', digest: `sha256:${'5'.repeat(64)}` },
      clock,
    )
    const id = runs[0]?.id ?? ''
    const run = await service().findRun(id)
    await service().delivered(run, ref(1), run.steps[0] as (typeof run.steps)[0])
    clock = t(-20)
    expect(await service().sweepTimeouts()).toBe(1)
    const step = stepOf((await ownPage(`/runs/${id}`)).body, 1)
    expect(step).toContain('No callback within 30m')
    expect(step).toContain(
      "the workflow's <code>on: repository_dispatch: types:</code> does not include <code>image-pushed</code>",
    )
    expect(step).toContain("not on the repository's default branch")
    expect(step).toContain('<code>if: always()</code>')
    expect(step).toContain('<code>public_url</code> (<code>https://relay.example.com</code>)')
    expect(step).toContain(
      'href="https://github.com/acme/integration-tests/actions?query=event%3Arepository_dispatch"',
    )
  })

  it('says a registry callback will not be sent when registry_callbacks does not allow it', async () => {
    clock = t(-10)
    const evil = 'https://registry.evil.com/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/'
    const going = (await start('evil', { tag: 'v3.0.0', callbackUrl: evil }, clock)).runs[0]
    const body = (await ownPage(`/runs/${going?.id}`)).body
    expect(body).toContain(
      'Will not be sent: callback host registry.evil.com is not in registry_callbacks.allowed_hosts.',
    )
    expect(body).not.toContain('no attempt')

    // Once the run ended, the outbox records the refusal as an attempt that sent nothing.
    await own.recordAttempts([
      {
        runId: going?.id ?? '',
        runAttempt: 1,
        step: null,
        phase: 'main',
        branch: 0,
        kind: 'registry-callback',
        target: 'https://registry.evil.com/u/acme/app/hook/[redacted]/',
        request: null,
        status: null,
        error:
          'not sent to https://registry.evil.com/u/acme/app/hook/[redacted]/: callback host registry.evil.com is not in registry_callbacks.allowed_hosts',
        durationMs: 0,
        startedAt: t(-5).toISOString(),
      },
    ])
    const refused = (await ownPage(`/runs/${going?.id}`)).body
    expect(refused).toContain(
      'not sent</span> Not sent: callback host registry.evil.com is not in registry_callbacks.allowed_hosts.',
    )

    const hub =
      'https://registry.hub.docker.com/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/'
    const cancelled = (await start('cancelled', { tag: 'v3.0.1', callbackUrl: hub }, clock)).runs[0]
    await service().cancel(cancelled?.id ?? '', 'admin')
    expect((await ownPage(`/runs/${cancelled?.id}`)).body).toContain(
      'not applicable</span> The run was cancelled: registry.hub.docker.com is told how a run ended only when it succeeded, failed or erred.',
    )
  })

  it('counts repeated deliveries of an event and says when the last came', async () => {
    const first = await start('twice', { tag: 'dev', repository: 'acme/unwatched' }, t(-3))
    await start('twice', { tag: 'dev', repository: 'acme/unwatched' }, t(-2))
    await start('twice', { tag: 'dev', repository: 'acme/unwatched' }, t(-1))
    const body = (await ownPage(`/events/${first.event.id}`)).body
    expect(body).toContain('<dt>Delivered</dt><dd>3 times <span class="muted">(the last ')
    expect(body).toContain('1 min ago</time>); repeats start nothing</span>')
    expect(rowOf((await ownPage('/events')).body, 'event', first.event.id)).toContain('×3')
  })

  it('lists the chains an unmatched event was compared with, and why each passed it over', async () => {
    const unmatched = await start('compared', { tag: 'dev', repository: 'acme/app' }, t(-1))
    const body = (await ownPage(`/events/${unmatched.event.id}`)).body
    expect(body).toContain('Chains it was compared with')
    expect(body).toContain(
      '<strong>release</strong>: repository <code>acme/app</code> <span class="yes">matches</span> <code>docker.io/acme/app</code>; tags <code>v*, latest</code> <span class="no">do not take</span> <code>dev</code>',
    )
    expect(body).toContain(
      '<strong>nightly</strong>: repository <code>acme/other</code> <span class="no">does not match</span>',
    )
    expect(body).toContain('Delivering it again would start nothing')
  })

  it('offers to deliver an event again, saying what it would start', async () => {
    const started = await start('again', { tag: 'v4.0.0' }, t(-1))
    const body = (await ownPage(`/events/${started.event.id}`)).body
    expect(body).toContain(
      `<form class="redeliver retry" method="post" action="/events/${started.event.id}/redeliver">`,
    )
    expect(body).toContain(
      'Starts <strong>release</strong> for <code>docker.io/acme/app:v4.0.0</code>, as the chains are configured now',
    )
  })

  it('shows each chain with its match rules, steps, last run, test button and the webhooks to set up', async () => {
    const response = await ownPage('/chains')
    expectHtml(response, 200)
    const { body } = response
    expect(body).not.toContain(SECRET)
    expect(body).toContain('<h2 id="chain-release-name">release</h2>')
    expect(body).toContain('<form class="test-event" method="post" action="/chains/release/test">')
    expect(body).toContain('<dt>Repository</dt><dd><code>acme/app</code></dd>')
    expect(body).toContain('<dt>Tags</dt><dd><code>v*, latest</code></dd>')
    expect(body).toContain(
      '<code>repository_dispatch</code> <code>image-pushed</code> to <a class="external" href="https://github.com/acme/integration-tests/actions"',
    )
    expect(body).toContain('Webhook to <code>https://changelog.example.com/hook</code>')
    expect(body).toContain(
      '<code>https://relay.example.com/hooks/dockerhub/&lt;sources.dockerhub.secret&gt;</code>',
    )
    expect(body).toContain('<code>Authorization: Bearer &lt;sources.distribution.token&gt;</code>')
    const release = body.slice(
      body.indexOf('id="chain-release"'),
      body.indexOf('id="chain-nightly"'),
    )
    expect(release).toContain('<dt>Last run</dt><dd><a href="/runs/')
    expect(body.slice(body.indexOf('id="chain-nightly"'))).toContain('none yet')
  })
})
