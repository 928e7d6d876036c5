// How much a hookchain step adds to a job: a whole run of dist/index.js posting its callback to
// a relay on 127.0.0.1, against a bare `node -e ''` start, measured in turns in the same run.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BenchRow, formatMs, formatRatio, median } from './table.js'

const RUNS = 30
/**
 * The least a Node step can do to report: a CommonJS script that POSTs the callback with
 * node:http and appends an output line. It shows how much of the Action's time any such step pays.
 */
const MINIMAL_REPORTER = [
  "const { request } = require('node:http')",
  "const { appendFileSync } = require('node:fs')",
  "const body = JSON.stringify({ state: 'success', description: 'Job succeeded' })",
  "const post = request(process.env['INPUT_CALLBACK-URL'], { method: 'POST', headers: { 'content-type': 'application/json' } }, (answer) => {",
  '  answer.resume()',
  "  answer.on('end', () => appendFileSync(process.env.GITHUB_OUTPUT, 'state<<EOF\\nsuccess\\nEOF\\n'))",
  '})',
  'post.end(body)',
].join('\n')
const TARGET_RATIO = 1.3
/** Report mode may cost at most this much more than the floor: start mode must not slow it. */
const FLOOR_RATIO = 1.1
const MAX_BUNDLE_BYTES = 1024 * 1024
const root = join(import.meta.dirname, '..')
const dist = join(root, 'dist/index.js')

export async function run(): Promise<BenchRow[]> {
  if (!existsSync(dist)) {
    execFileSync(process.execPath, [join(root, 'scripts/package-action.mjs')], {
      cwd: root,
      stdio: 'ignore',
    })
  }
  const relay = await startRelay()
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-bench-'))
  try {
    const rows: BenchRow[] = []
    let environments = 1
    rows.push(...(await compare('this environment', { ...process.env }, relay.url, dir)))
    // NODE_EXTRA_CA_CERTS makes every Node start read a certificate bundle, which a GitHub
    // runner does not: the ratio without it is the one a workflow sees.
    if (process.env.NODE_EXTRA_CA_CERTS) {
      const { NODE_EXTRA_CA_CERTS: _, ...withoutCerts } = process.env
      rows.push(...(await compare('without NODE_EXTRA_CA_CERTS', withoutCerts, relay.url, dir)))
      environments++
    }
    // The floor and the Action each post one callback a run.
    const expected = RUNS * 2 * environments
    if (relay.requests() !== expected) {
      throw new Error(`the relay got ${relay.requests()} callbacks, expected ${expected}`)
    }
    const size = bundleSize()
    rows.push({
      benchmark: 'action',
      measure: 'size of the bundle: dist/index.js, dist/test-results.js and dist/start-chain.js',
      value: `${(size / 1024).toFixed(1)} kB`,
      baseline: '',
      baselineValue: '',
      ratio: '',
      target: '< 1 MB',
      met: size < MAX_BUNDLE_BYTES,
    })
    return rows
  } finally {
    await relay.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Every JavaScript file of dist/, the lazily loaded JUnit reader and start mode too. */
function bundleSize(): number {
  return readdirSync(join(root, 'dist'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .reduce((total, file) => total + statSync(join(root, 'dist', file)).size, 0)
}

/** Runs the Action and a bare Node in turns, so that both see the same load on the machine. */
async function compare(
  label: string,
  baseEnv: NodeJS.ProcessEnv,
  callbackUrl: string,
  dir: string,
): Promise<BenchRow[]> {
  const env: NodeJS.ProcessEnv = {
    ...withoutRunnerVariables(baseEnv),
    'INPUT_CALLBACK-URL': callbackUrl,
    'INPUT_JOB-STATUS': 'success',
    'INPUT_TIMEOUT-SECONDS': '10',
    INPUT_RETRIES: '3',
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_WORKFLOW: 'Deploy',
    GITHUB_JOB: 'rollout',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/deploy',
    GITHUB_RUN_ID: '42',
  }
  writeFileSync(join(dir, 'output'), '')
  writeFileSync(join(dir, 'summary.md'), '')
  const bare: number[] = []
  const minimal: number[] = []
  const action: number[] = []
  for (let i = 0; i < RUNS; i++) {
    bare.push(await timeNode(['-e', ''], env))
    minimal.push(await timeNode(['-e', MINIMAL_REPORTER], env))
    action.push(await timeNode([dist], env))
  }
  const baseline = `bare \`node -e ''\`, ${RUNS} runs`
  return [
    {
      benchmark: 'action',
      measure: `median wall time of ${RUNS} runs of dist/index.js posting a callback to 127.0.0.1 (${label})`,
      value: formatMs(median(action)),
      baseline,
      baselineValue: formatMs(median(bare)),
      ratio: formatRatio(median(action) / median(bare)),
      target: `ratio ≤ ${TARGET_RATIO}`,
      met: median(action) / median(bare) <= TARGET_RATIO,
    },
    {
      benchmark: 'action (floor)',
      measure: `median wall time of ${RUNS} runs of an 8-line script that only POSTs the callback with node:http (${label})`,
      value: formatMs(median(minimal)),
      baseline,
      baselineValue: formatMs(median(bare)),
      ratio: formatRatio(median(minimal) / median(bare)),
      target: '',
      met: null,
    },
    {
      benchmark: 'action (report mode)',
      measure: `median wall time of ${RUNS} runs of dist/index.js posting a callback, against the node:http floor above (${label})`,
      value: formatMs(median(action)),
      baseline: `the 8-line node:http script, ${RUNS} runs`,
      baselineValue: formatMs(median(minimal)),
      ratio: formatRatio(median(action) / median(minimal)),
      target: `ratio ≤ ${FLOOR_RATIO}`,
      met: median(action) / median(minimal) <= FLOOR_RATIO,
    },
  ]
}

/** The wall time of one `node …` process, from spawn to exit; fails unless it exits with 0. */
function timeNode(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    child.on('error', reject)
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (code === 0) resolve(ms)
      else reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr.trim()}`))
    })
  })
}

/** Drops a surrounding workflow's own variables, so the Action sees only the bench's. */
function withoutRunnerVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(
      ([name]) => !name.startsWith('INPUT_') && !name.startsWith('GITHUB_'),
    ),
  )
}

/** A relay that takes every callback at once, as the real one does for a valid body. */
async function startRelay() {
  let requests = 0
  const answer = JSON.stringify({ run: { id: 'bench', state: 'running' }, step: { index: 1 } })
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      requests++
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(answer)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/callbacks/tok_bench_0123456789abcdef`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
