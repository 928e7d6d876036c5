import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inputVariable, parseOutputFile } from './action-env.js'

// Runs the committed bundle as the runner does: `node dist/index.js`, inputs in INPUT_*
// variables (dashes kept), the event in a file, outputs and summary in files.

export const root = join(import.meta.dirname, '../..')
export const dist = join(root, 'dist/index.js')

/**
 * The bundle is a build product: build it from the sources under test. The build is
 * deterministic, so on a clean checkout this leaves the committed dist/ as it was.
 * `metafile` also gets which sources each bundle holds.
 */
export function buildDist(metafile?: string): void {
  const args = [join(root, 'scripts/package-action.mjs')]
  if (metafile) args.push('--metafile', metafile)
  execFileSync(process.execPath, args, { cwd: root, stdio: 'pipe' })
}

export interface ActionRun {
  exitCode: number | null
  stdout: string
  stderr: string
  outputs: Record<string, string>
  summary: string
  seconds: number
}

export interface RunOptions {
  event?: { name: string; payload: unknown }
  variables?: Record<string, string>
  nodeArgs?: string[]
}

export interface DistRunner {
  /** A directory of its own, the working directory of every run. */
  dir: string
  run(inputs: Record<string, string>, options?: RunOptions): Promise<ActionRun>
  remove(): void
}

export function distRunner(): DistRunner {
  const dir = mkdtempSync(join(tmpdir(), 'hookchain-dist-'))
  let runs = 0
  return {
    dir,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    async run(inputs, options = {}) {
      const id = ++runs
      const files = {
        GITHUB_OUTPUT: join(dir, `output-${id}`),
        GITHUB_STEP_SUMMARY: join(dir, `summary-${id}.md`),
        GITHUB_EVENT_PATH: join(dir, `event-${id}.json`),
      }
      writeFileSync(files.GITHUB_OUTPUT, '')
      writeFileSync(files.GITHUB_STEP_SUMMARY, '')
      const event = options.event ?? { name: 'push', payload: { ref: 'refs/heads/main' } }
      writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(event.payload))
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        ...files,
        GITHUB_EVENT_NAME: event.name,
        GITHUB_WORKFLOW: 'Integration tests',
        GITHUB_JOB: 'java',
        GITHUB_SERVER_URL: 'https://github.com',
        GITHUB_REPOSITORY: 'acme/integration-tests',
        GITHUB_RUN_ID: '42',
        GITHUB_RUN_ATTEMPT: '1',
        HOOKCHAIN_BACKOFF_MS: '1',
        // What the runner passes for the inputs with a default in action.yml.
        [inputVariable('job-status')]: 'success',
        [inputVariable('timeout-seconds')]: '10',
        [inputVariable('retries')]: '3',
        [inputVariable('wait')]: 'false',
        [inputVariable('wait-minutes')]: '60',
        [inputVariable('audience')]: 'hookchain',
        ...Object.fromEntries(
          Object.entries(inputs).map(([name, value]) => [inputVariable(name), value]),
        ),
        ...options.variables,
      }
      const started = Date.now()
      const child = spawn(process.execPath, [...(options.nodeArgs ?? []), dist], {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString()
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve))
      return {
        exitCode,
        stdout,
        stderr,
        outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
        summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        seconds: (Date.now() - started) / 1000,
      }
    },
  }
}

/** The `::error::` lines of a run's log. */
export function errorLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith('::error::'))
}
