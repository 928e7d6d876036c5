// What start mode with `wait` adds to a chain: a whole run of dist/index.js that starts a
// chain on a real relay and follows it to its end, against the run's own duration (created to
// finished, on the relay), measured in the same run.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Chain } from '../src/relay/config/settings.js'
import { type Relay, startRelay } from '../src/relay/main.js'
import { listedRegistriesOnly, SECRETS, testSettings } from '../test/relay/relay-harness.js'
import { type GitHubStandIn, startGitHubStandIn } from '../test/support/github-stand-in.js'
import { startOidcIssuer } from '../test/support/oidc-issuer.js'
import { startOidcTokenStandIn } from '../test/support/oidc-token-stand-in.js'
import { type BenchRow, formatMs, formatRatio, median } from './table.js'

const RUNS = 8
/** How long the step's workflow takes: the run's own duration is this and the relay's part. */
const STEP_MS = 1000
/** What the Action may add to the run it waits for: a Node start, a token, a start, a poll. */
const TARGET_OVERHEAD_MS = 500
const root = join(import.meta.dirname, '..')
const dist = join(root, 'dist/index.js')
const REPOSITORY = 'acme/app'
const SHA = '8f14e45fceea167a5a36dedd4bea2543a1b2c3d4'

const chain: Chain = {
  name: 'release',
  match: { repository: 'acme/never-pushed', tags: null },
  stepTimeoutMs: 60_000,
  onFailure: [],
  notify: [],
  start: { repositories: [REPOSITORY] },
  steps: [{ kind: 'dispatch', repository: 'acme/tests', eventType: 'image-pushed' }],
}

export async function run(): Promise<BenchRow[]> {
  if (!existsSync(join(root, 'dist/start-chain.js'))) {
    execFileSync(process.execPath, [join(root, 'scripts/package-action.mjs')], {
      cwd: root,
      stdio: 'ignore',
    })
  }
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-bench-start-'))
  const issuer = await startOidcIssuer()
  const oidc = await startOidcTokenStandIn({ repository: REPOSITORY, sha: SHA, issuer })
  const github = await startGitHubStandIn()
  const settings = testSettings(github.url, { chains: [chain] })
  settings.github.oidc = { issuer: issuer.url, audience: 'hookchain' }
  const relay = await startRelay({
    settings,
    databaseUrl: `sqlite:${join(dir, 'relay.db')}`,
    port: 0,
    host: '127.0.0.1',
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    images: listedRegistriesOnly(settings),
  })
  try {
    const action: number[] = []
    const runs: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const env = {
        PATH: process.env.PATH ?? '',
        'INPUT_RELAY-URL': relay.url,
        INPUT_CHAIN: 'release',
        INPUT_IMAGE: `ghcr.io/acme/app@sha256:${String(i).padStart(2, '0').repeat(32)}`,
        INPUT_WAIT: 'true',
        'INPUT_WAIT-MINUTES': '2',
        INPUT_AUDIENCE: 'hookchain',
        'INPUT_TIMEOUT-SECONDS': '10',
        INPUT_RETRIES: '3',
        GITHUB_REPOSITORY: REPOSITORY,
        GITHUB_SHA: SHA,
        GITHUB_OUTPUT: join(dir, `output-${i}`),
        GITHUB_STEP_SUMMARY: join(dir, `summary-${i}.md`),
        ACTIONS_ID_TOKEN_REQUEST_URL: oidc.requestUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: oidc.requestToken,
      }
      writeFileSync(env.GITHUB_OUTPUT, '')
      writeFileSync(env.GITHUB_STEP_SUMMARY, '')
      const before = github.dispatches.length
      const timed = timeNode([dist], env)
      await playStep(relay, github, before)
      action.push(await timed)
      runs.push(await lastRunDuration(relay))
    }
    const overhead = median(action) - median(runs)
    return [
      {
        benchmark: 'action (start mode)',
        measure: `median wall time of ${RUNS} runs of dist/index.js with wait: true, starting a one-step chain on a relay on 127.0.0.1 whose step takes ${STEP_MS / 1000} s, and following it to its end`,
        value: formatMs(median(action)),
        baseline: "the run's own duration on the relay (created to finished)",
        baselineValue: formatMs(median(runs)),
        ratio: formatRatio(median(action) / median(runs)),
        target: `overhead ≤ ${TARGET_OVERHEAD_MS} ms (here ${formatMs(overhead)})`,
        met: overhead <= TARGET_OVERHEAD_MS,
      },
    ]
  } finally {
    await relay.close()
    await github.close()
    await oidc.close()
    await issuer.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The step's workflow: it takes STEP_MS from its dispatch, then reports success. */
async function playStep(relay: Relay, github: GitHubStandIn, before: number): Promise<void> {
  const [dispatch] = (await github.waitForDispatches(before + 1, 30_000)).slice(before)
  await new Promise((resolve) => setTimeout(resolve, STEP_MS))
  const url = String(dispatch?.clientPayload?.callback_url).replace(relay.publicUrl, relay.url)
  const answer = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ state: 'success', description: 'ok' }),
  })
  if (answer.status !== 200) throw new Error(`the callback was answered ${answer.status}`)
}

async function lastRunDuration(relay: Relay): Promise<number> {
  const answer = await fetch(`${relay.url}/api/runs?limit=1`, {
    headers: { authorization: `Bearer ${SECRETS.admin}` },
  })
  const { runs } = (await answer.json()) as {
    runs: { state: string; created_at: string; finished_at: string | null }[]
  }
  const last = runs[0]
  if (last?.state !== 'success' || !last.finished_at) throw new Error('the run did not succeed')
  return Date.parse(last.finished_at) - Date.parse(last.created_at)
}

/** The wall time of one `node …` process, from spawn to exit; fails unless it exits with 0. */
function timeNode(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve(ms)
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${output.trim()}`))
    })
  })
}
