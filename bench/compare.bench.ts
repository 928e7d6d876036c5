// Versions of the relay side by side: this checkout and each one named in
// HOOKCHAIN_BENCH_COMPARE (folders, comma-separated, each built with `npm run build`) take the
// ingest bench's load in turns with bare Express, round after round, so that a machine whose speed
// drifts weighs on all alike; on Linux each process's CPU time per request is read from /proc.
// Without HOOKCHAIN_BENCH_COMPARE it measures nothing.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { startGitHubStandIn } from '../test/support/github-stand-in.js'
import {
  CONNECTIONS,
  config,
  DURATION_S,
  load,
  root,
  spawnRelay,
  spawnServer,
  stop,
} from './support/relay-load.js'
import { type BenchRow, formatRatio } from './table.js'

const ROUNDS = 6

/** CPU time (ms) of a process's main thread and of all its threads, or null off Linux. */
function cpuTime(pid: number | undefined): { main: number; all: number } | null {
  if (pid === undefined || !existsSync(`/proc/${pid}/task`)) return null
  let main = 0
  let all = 0
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8')
    // utime and stime, in clock ticks (100 a second on Linux), after the command's name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ms = (Number(fields[11]) + Number(fields[12])) * 10
    all += ms
    if (Number(task) === pid) main = ms
  }
  return { main, all }
}

interface Tally {
  name: string
  requests: number
  seconds: number
  mainMs: number
  allMs: number
  measured: boolean
}

export async function run(): Promise<BenchRow[]> {
  const others = (process.env.HOOKCHAIN_BENCH_COMPARE ?? '')
    .split(',')
    .filter(Boolean)
    .map((dir) => resolve(dir))
  if (others.length === 0) {
    process.stderr.write('compare: set HOOKCHAIN_BENCH_COMPARE to built checkouts to compare\n')
    return []
  }
  for (const dir of others) {
    if (!existsSync(join(dir, 'lib/relay/cli.js')))
      throw new Error(`${dir} has no lib/relay/cli.js: run npm ci && npm run build there first`)
  }
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' })
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-compare-'))
  const github = await startGitHubStandIn()
  const configFile = config(dir, github, 1, 80)
  const servers = [
    { name: 'bare Express', server: await spawnServer(['bench/support/bare-express.ts']) },
  ]
  try {
    for (const [i, checkout] of [root, ...others].entries()) {
      const server = await spawnRelay(configFile, `sqlite:${join(dir, `${i}.db`)}`, checkout)
      servers.push({ name: checkout === root ? 'this checkout' : checkout, server })
    }
    const tallies: Tally[] = servers.map(({ name }) => ({
      name,
      requests: 0,
      seconds: 0,
      mainMs: 0,
      allMs: 0,
      measured: true,
    }))
    // The first round warms every server up and is not counted.
    for (let round = 0; round < ROUNDS + 1; round++) {
      for (const [i, { server }] of servers.entries()) {
        const before = cpuTime(server.child.pid)
        const result = await load(server.url, CONNECTIONS, round)
        const after = cpuTime(server.child.pid)
        const tally = tallies[i] as Tally
        if (round === 0) continue
        tally.requests += result.requests.total
        tally.seconds += result.duration
        if (before && after) {
          tally.mainMs += after.main - before.main
          tally.allMs += after.all - before.all
        } else tally.measured = false
      }
    }
    const bare = tallies[0] as Tally
    const rate = (t: Tally) => t.requests / t.seconds
    const perRequest = (ms: number, t: Tally) => `${((ms * 1000) / t.requests).toFixed(0)} µs`
    return tallies.map((t) => ({
      benchmark: 'compare',
      measure: `${t.name}: POST /hooks/dockerhub, ${CONNECTIONS} connections, ${ROUNDS} rounds of ${DURATION_S} s in turns: requests/s${t.measured ? ` (CPU per request: main thread ${perRequest(t.mainMs, t)}, all threads ${perRequest(t.allMs, t)})` : ''}`,
      value: rate(t).toFixed(0),
      baseline: t === bare ? '' : 'bare Express, in the same rounds',
      baselineValue: t === bare ? '' : rate(bare).toFixed(0),
      ratio: t === bare ? '' : formatRatio(rate(t) / rate(bare)),
      target: '',
      met: null,
    }))
  } finally {
    for (const { server } of servers) await stop(server.child)
    await github.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
