import { pino } from 'pino'
import type { Chain } from '../../../src/relay/config/settings.js'
import type { Attempt } from '../../../src/relay/model/attempt.js'
import type { EventRecord } from '../../../src/relay/model/event.js'
import { takeIn } from '../../../src/relay/runs/intake.js'
import { RunRefused } from '../../../src/relay/runs/refusal.js'
import { createRunService } from '../../../src/relay/runs/service.js'
import type { PushEvent } from '../../../src/relay/sources/types.js'
import type { Store } from '../../../src/relay/store/store.js'
import type { Callback } from '../../../src/shared/callback.js'
import { push, ref, release } from '../runs/run-fixture.js'

export const nightly: Chain = {
  name: 'nightly',
  match: { repository: 'acme/other', tags: null },
  stepTimeoutMs: 60 * 60_000,
  onFailure: [],
  notify: [],
  steps: [{ kind: 'webhook', url: 'https://hooks.example.com/nightly', secret: null }],
}

export const chains = [release, nightly]

/** The error a 404 from GitHub leaves, worded as the dispatcher words it. */
export const NOT_FOUND_ERROR =
  'GitHub answered 404 Not Found ("Not Found"): the repository acme/deploy does not exist or these credentials cannot see it; check the step\'s repository and give the token access to it'

/** Long and unbroken, as digests are: the pages must wrap it on a phone. */
export const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`

export const XSS = {
  tag: 'v9"><img src=x onerror=alert("tag")>',
  description: '<img src=x onerror="alert(\'description\')">',
  targetUrl: 'javascript:alert(document.domain)',
  context: '<b>bold</b> & "quoted"',
}

export interface History {
  /** acme/app:v1.2.0 on release: step 1 succeeded, step 2 failed, step 3 never ran. */
  failed: string
  /** acme/app:v1.3.0 on release, still going: step 2 reported pending. */
  running: string
  /** acme/app:v1.1.0 on release: step 1's dispatch was answered 404. */
  errored: string
  /** acme/app:latest on release: every step succeeded; Docker Hub's callback was called. */
  succeeded: string
  /** acme/other:nightly on nightly, a webhook chain that succeeded. */
  other: string
  /** A run whose tag, description and target_url try to inject markup. */
  hostile: string
  ignoredEvent: string
  unmatchedEvent: string
  /** The event that started `failed`. */
  failedEvent: string
}

/**
 * A realistic history in a real store, minutes before `now`: every state a run can end in, refused
 * callbacks, failed attempts, a registry callback, ignored and unmatched deliveries.
 */
export async function seedHistory(store: Store, now: Date): Promise<History> {
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000)
  let deliveries = 0

  async function receive(pushes: PushEvent[], at: Date, ignored: string | null = null) {
    const intake = takeIn(
      {
        source: pushes[0]?.source ?? 'distribution',
        normalised: { deliveryId: `delivery-${++deliveries}`, pushes, ignored },
        contentType: 'application/json',
        payload: JSON.stringify({ pushes, note: '<script>alert("payload")</script>' }),
        receivedAt: at,
      },
      chains,
    )
    await store.recordEvent(intake.event, intake.runs, intake.jobs)
    return intake
  }

  async function start(overrides: Partial<PushEvent>, at: Date): Promise<[string, EventRecord]> {
    const intake = await receive([{ ...push, ...overrides }], at)
    const run = intake.runs[0]
    if (!run) throw new Error(`no chain matched ${JSON.stringify(overrides)}`)
    // A tag without a digest is read from the registry first; this registry gives nothing.
    if (run.steps[0]?.state === 'queued') {
      clock = at
      await runs.prepared(run.id, { image: run.image, sourceCommit: null, notes: [] })
    }
    return [run.id, intake.event]
  }

  let clock = now
  const runs = createRunService({
    store,
    chains: () => chains,
    now: () => clock,
    logger: pino({ level: 'silent' }),
    onWork: () => {},
  })

  /** A run and one of its steps, as they are stored at `at`. */
  async function stepAt(runId: string, step: number, at: Date) {
    clock = at
    const run = await store.getRun(runId)
    const found = run?.steps[step - 1]
    if (!run || !found) throw new Error(`run ${runId} has no step ${step}`)
    return { run, step: found }
  }

  /** A step's callback; one the run refuses (a late one) is kept in its history all the same. */
  async function report(runId: string, step: number, callback: Callback, at: Date) {
    const found = await stepAt(runId, step, at)
    const token = { runId, ref: ref(step), generation: found.step.generation }
    await runs.callback(token, callback).catch((error) => {
      if (!(error instanceof RunRefused)) throw error
    })
  }

  async function dispatched(runId: string, step: number, at: Date, status = 204) {
    const found = await stepAt(runId, step, at)
    await attempt(runId, step, at, {
      status,
      error: null,
      kind: found.step.kind === 'webhook' ? 'webhook' : 'dispatch',
      target: found.step.target,
    })
    await runs.delivered(found.run, ref(step), found.step)
  }

  async function attempt(
    runId: string,
    step: number | null,
    at: Date,
    fields: Partial<Attempt>,
  ): Promise<void> {
    await store.recordAttempts([
      {
        runId,
        runAttempt: 1,
        step,
        phase: 'main',
        branch: 0,
        kind: 'dispatch',
        target: 'acme/integration-tests',
        request: {},
        status: 204,
        error: null,
        durationMs: 183,
        startedAt: at.toISOString(),
        ...fields,
      },
    ])
  }

  const [succeeded] = await start(
    {
      tag: 'latest',
      callbackUrl:
        'https://registry.hub.docker.com/u/acme/app/hook/2141b5bi5i5b02bec211i4eeih0242eg11000a/',
    },
    minutesAgo(190),
  )
  await dispatched(succeeded, 1, minutesAgo(190))
  await report(
    succeeded,
    1,
    {
      state: 'success',
      description: '387 tests PASSED',
      context: 'Continuous integration by Acme CI',
      target_url: 'https://github.com/acme/integration-tests/actions/runs/40',
    },
    minutesAgo(184),
  )
  await dispatched(succeeded, 2, minutesAgo(184))
  await report(
    succeeded,
    2,
    {
      state: 'success',
      description: 'Deployed to production',
      target_url: 'https://github.com/acme/deploy/actions/runs/41',
    },
    minutesAgo(181),
  )
  await dispatched(succeeded, 3, minutesAgo(181), 200)
  await report(
    succeeded,
    3,
    { state: 'success', description: 'Changelog updated' },
    minutesAgo(180),
  )
  await attempt(succeeded, null, minutesAgo(180), {
    kind: 'registry-callback',
    target: 'https://registry.hub.docker.com/u/acme/app/hook/[redacted]/',
    status: 200,
  })

  const [other] = await start(
    { repository: 'acme/other', tag: 'nightly', source: 'quay', registry: 'quay.io' },
    minutesAgo(120),
  )
  await dispatched(other, 1, minutesAgo(120), 202)
  await report(
    other,
    1,
    { state: 'success', description: 'Nightly images mirrored' },
    minutesAgo(118),
  )

  const [errored] = await start({ tag: 'v1.1.0', digest: DIGEST }, minutesAgo(60))
  await attempt(errored, 1, minutesAgo(60), {
    status: 404,
    error: NOT_FOUND_ERROR,
    durationMs: 241,
  })
  const dispatch = await stepAt(errored, 1, minutesAgo(60))
  await runs.deliveryFailed(dispatch.run, ref(1), dispatch.step, NOT_FOUND_ERROR)

  const [failed, failedEvent] = await start(
    { tag: 'v1.2.0', pusher: 'trustedbuilder' },
    minutesAgo(30),
  )
  await dispatched(failed, 1, minutesAgo(30))
  await report(
    failed,
    1,
    {
      state: 'pending',
      description: 'Running 387 tests',
      target_url: 'https://github.com/acme/integration-tests/actions/runs/42',
    },
    minutesAgo(29),
  )
  await report(
    failed,
    1,
    {
      state: 'success',
      description: '387 tests PASSED',
      context: 'Continuous integration by Acme CI',
    },
    minutesAgo(24),
  )
  await attempt(failed, 2, minutesAgo(24), {
    target: 'acme/deploy',
    status: 502,
    error: 'GitHub answered 502 Bad Gateway; trying again in 2 s',
    durationMs: 1204,
  })
  await dispatched(failed, 2, minutesAgo(23))
  await report(
    failed,
    2,
    {
      state: 'failure',
      description: 'Smoke test failed: /health answered 503',
      context: 'deploy / smoke-test',
      target_url: 'https://github.com/acme/deploy/actions/runs/43',
    },
    minutesAgo(20),
  )
  await report(
    failed,
    2,
    { state: 'success', description: 'A late success that must not count' },
    minutesAgo(19),
  )

  const [hostile] = await start({ tag: XSS.tag }, minutesAgo(10))
  await dispatched(hostile, 1, minutesAgo(10))
  await report(
    hostile,
    1,
    {
      state: 'failure',
      description: XSS.description,
      context: XSS.context,
      target_url: XSS.targetUrl,
    },
    minutesAgo(9),
  )

  const [running] = await start({ tag: 'v1.3.0' }, minutesAgo(4))
  await dispatched(running, 1, minutesAgo(4))
  await report(running, 1, { state: 'success', description: '387 tests PASSED' }, minutesAgo(2))
  await dispatched(running, 2, minutesAgo(2))
  await report(
    running,
    2,
    {
      state: 'pending',
      description: 'Rolling out to 3 regions',
      target_url: 'https://github.com/acme/deploy/actions/runs/44',
    },
    minutesAgo(1),
  )

  const ignored = await receive([], minutesAgo(3), 'a blob push, not a manifest')
  const unmatched = await receive(
    [{ ...push, repository: 'acme/unwatched', tag: 'dev' }],
    minutesAgo(2),
  )

  return {
    failed,
    running,
    errored,
    succeeded,
    other,
    hostile,
    ignoredEvent: ignored.event.id,
    unmatchedEvent: unmatched.event.id,
    failedEvent: failedEvent.id,
  }
}
