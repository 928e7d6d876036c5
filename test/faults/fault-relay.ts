import { monitorEventLoopDelay } from 'node:perf_hooks'
import { pino } from 'pino'
import { afterEach, beforeEach, expect } from 'vitest'
import type { Settings } from '../../src/relay/config/settings.js'
import type { RunJson } from '../../src/relay/http/representation.js'
import type { RelayOptions } from '../../src/relay/main.js'
import {
  eventually,
  fixture,
  SECRETS,
  startTestRelay,
  type TestRelay,
  testSettings,
} from '../relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../support/github-stand-in.js'

/** A real relay whose log lines the test can read, as a log collector would. */
export interface FaultRelay extends TestRelay {
  /** Every JSON log line written so far. */
  logs: string[]
  /** Log lines (parsed) whose message matches. */
  logged(message: RegExp): { level: number; msg: string }[]
  /** Pushes the Docker Hub sample with this tag; expects 202 and answers the run's id. */
  push(tag: string, edit?: (body: Record<string, unknown>) => void): Promise<string>
  run(id: string): Promise<RunJson>
  /** Polls the run until `done` holds. */
  until(id: string, done: (run: RunJson) => boolean, timeoutMs?: number): Promise<RunJson>
  /** The sum of the Prometheus samples of `name` that carry these labels; 0 when none. */
  metric(name: string, labels: Record<string, string>): Promise<number>
}

export async function startFaultRelay(
  githubUrl: string,
  overrides: Partial<Settings> = {},
  options: Partial<RelayOptions> = {},
): Promise<FaultRelay> {
  const logs: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) })
  const t = await startTestRelay(testSettings(githubUrl, overrides), { logger, ...options })
  const run = (id: string) => t.api<RunJson>(`/api/runs/${id}`)
  return {
    ...t,
    logs,
    logged: (message) =>
      logs
        .map((line) => JSON.parse(line) as { level: number; msg: string })
        .filter((entry) => message.test(entry.msg)),
    async push(tag, edit) {
      const body = JSON.parse(fixture('dockerhub-push.json'))
      body.push_data.tag = tag
      edit?.(body)
      const response = await t.post(`/hooks/dockerhub/${SECRETS.dockerhub}`, body)
      expect(response.status, await response.clone().text()).toBe(202)
      return ((await response.json()) as { runs: string[] }).runs[0] as string
    },
    run,
    until: (id, done, timeoutMs = 10_000) =>
      eventually(async () => {
        const r = await run(id)
        return done(r) ? r : undefined
      }, timeoutMs),
    async metric(name, labels) {
      const text = await (await fetch(`${t.url}/metrics`)).text()
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
      let sum = 0
      for (const line of text.split('\n')) {
        const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line)
        if (!match || match[1] !== name) continue
        const have = (match[2] ?? '').split(',')
        if (wanted.every((label) => have.includes(label))) sum += Number(match[3])
      }
      return sum
    },
  }
}

/**
 * Registers hooks that give each test a GitHub stand-in of its own, so that faults a failed test
 * left planned do not leak into the next one. After the test, the relay it started with
 * `startRelay` is closed, then the stand-in.
 */
export function standInPerTest(): {
  github: () => GitHubStandIn
  startRelay: (...args: Parameters<typeof startFaultRelay>) => Promise<FaultRelay>
} {
  let github: GitHubStandIn
  let relay: FaultRelay | undefined
  beforeEach(async () => {
    github = await startGitHubStandIn()
  })
  afterEach(async () => {
    await relay?.close()
    relay = undefined
    await github.close()
  })
  return {
    github: () => github,
    startRelay: async (...args) => {
      relay = await startFaultRelay(...args)
      return relay
    },
  }
}

/**
 * Measures how long the event loop stalls while `work` runs. The relay runs in this process, so a
 * synchronous wait inside it (a busy SQLite handle) shows here as it would to every client.
 */
export async function longestStallMs(work: () => Promise<void>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  try {
    await work()
  } finally {
    histogram.disable()
  }
  return histogram.max / 1e6
}

/** Sends a callback body to a step's callback URL as the hookchain Action would. */
export function report(callbackUrl: string, state: string): Promise<Response> {
  return fetch(callbackUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ state, description: `reported ${state}` }),
  })
}
