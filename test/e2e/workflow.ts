import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'
import { inputVariable, parseOutputFile } from '../action/action-env.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const require = createRequire(import.meta.url)

/** A real webhook's repository and sender, renamed for each dispatched repository. */
const githubFixture = JSON.parse(
  readFileSync(join(root, 'test/fixtures/sources/github-registry-package-published.json'), 'utf8'),
)

const validateEvent = (() => {
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addSchema(
    JSON.parse(readFileSync(require.resolve('@octokit/webhooks-schemas/schema.json'), 'utf8')),
    'webhooks',
  )
  const validate = ajv.getSchema('webhooks#/definitions/repository_dispatch$event')
  if (!validate) throw new Error('@octokit/webhooks-schemas has no repository_dispatch event')
  return validate
})()

/**
 * The `repository_dispatch` event GitHub hands the workflow a dispatch starts (the file at
 * GITHUB_EVENT_PATH), checked against GitHub's published webhook schema.
 */
export function repositoryDispatchEvent(
  fullName: string,
  eventType: string,
  clientPayload: Record<string, unknown>,
) {
  const [owner = '', name = ''] = fullName.split('/')
  const repository = structuredClone(githubFixture.repository)
  Object.assign(repository, {
    name,
    full_name: fullName,
    html_url: `https://github.com/${fullName}`,
    url: `https://api.github.com/repos/${fullName}`,
  })
  repository.owner.login = owner
  const event = {
    action: eventType,
    branch: repository.default_branch,
    client_payload: clientPayload,
    repository,
    sender: githubFixture.sender,
    installation: { id: 4242, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==' },
  }
  if (!validateEvent(event)) {
    throw new Error(
      `not a repository_dispatch event as GitHub sends it: ${JSON.stringify(validateEvent.errors)}`,
    )
  }
  return event
}

/** The inputs the runner passes when the workflow sets none: action.yml's defaults. */
function defaultInputs(jobStatus: string): Record<string, string> {
  const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  const inputs: Record<string, string> = {}
  for (const [name, input] of Object.entries(action.inputs)) {
    if (input.default === undefined) continue
    // The runner evaluates `${{ job.status }}`; the job's status is what the case plays.
    inputs[name] = input.default.includes('job.status') ? jobStatus : String(input.default)
  }
  return inputs
}

export interface WorkflowJob {
  /** The repository the dispatch went to (`owner/name`). */
  repository: string
  /** The `repository_dispatch` event that starts the workflow. */
  event: object
  /** What `${{ job.status }}` is when the Action's step runs. */
  jobStatus: 'success' | 'failure' | 'cancelled'
  /** The step's `with:` inputs. */
  inputs?: Record<string, string>
  /** Files of the job's workspace (e.g. test reports), by path relative to it. */
  files?: Record<string, string>
}

export interface ActionRun {
  exitCode: number
  stdout: string
  outputs: Record<string, string>
  summary: string
}

const WORKFLOW = 'Integration tests'
const JOB = 'test'
export const RUN_ID = '4242'
/** The context the Action reports by default: workflow name and job id. */
export const DEFAULT_CONTEXT = `${WORKFLOW} / ${JOB}`

let jobs = 0

/**
 * Runs the built Action (`node dist/index.js`) as the GitHub runner runs the last step of a
 * dispatched repository's workflow: inputs in `INPUT_*` variables (dashes kept), the event in
 * a file, outputs and summary in files, in a workspace of its own.
 */
export function runAction(dir: string, job: WorkflowJob): Promise<ActionRun> {
  const id = ++jobs
  const workspace = join(dir, `job-${id}`)
  mkdirSync(workspace, { recursive: true })
  for (const [path, text] of Object.entries(job.files ?? {})) {
    mkdirSync(join(workspace, path, '..'), { recursive: true })
    writeFileSync(join(workspace, path), text)
  }
  const files = {
    GITHUB_EVENT_PATH: join(dir, `event-${id}.json`),
    GITHUB_OUTPUT: join(dir, `output-${id}`),
    GITHUB_STEP_SUMMARY: join(dir, `summary-${id}.md`),
  }
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(job.event))
  writeFileSync(files.GITHUB_OUTPUT, '')
  writeFileSync(files.GITHUB_STEP_SUMMARY, '')
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...files,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'repository_dispatch',
    GITHUB_WORKFLOW: WORKFLOW,
    GITHUB_JOB: JOB,
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_REPOSITORY: job.repository,
    GITHUB_RUN_ID: RUN_ID,
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKSPACE: workspace,
    RUNNER_TEMP: dir,
  }
  const inputs = { ...defaultInputs(job.jobStatus), ...job.inputs }
  for (const [name, value] of Object.entries(inputs)) env[inputVariable(name)] = value
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'dist/index.js')],
      { env, cwd: workspace, timeout: 30_000 },
      (error, stdout) => {
        const code = (error as { code?: unknown } | null)?.code
        resolve({
          exitCode: error ? (typeof code === 'number' ? code : 1) : 0,
          stdout,
          outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
          summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
        })
      },
    )
  })
}
