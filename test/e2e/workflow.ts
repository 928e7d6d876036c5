import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('../..', import.meta.url))
const require = createRequire(import.meta.url)

const githubFixture = JSON.parse(
  readFileSync(join(root, 'test/fixtures/sources/github-registry-package-published.json'), 'utf8'),
)

const webhooks = (() => {
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

/** The `repository_dispatch` event GitHub hands the workflow that a dispatch starts, checked against GitHub's own schema. */
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
  if (!webhooks(event))
    throw new Error(`not a repository_dispatch event: ${JSON.stringify(webhooks.errors)}`)
  return event
}

/** The inputs as the runner passes them when the workflow sets none: action.yml's defaults. */
function defaultInputs(jobStatus: string): Record<string, string> {
  const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>
  }
  const inputs: Record<string, string> = {}
  for (const [name, input] of Object.entries(action.inputs)) {
    if (input.default === undefined) continue
    // The runner evaluates the expression; the job's status is what the case plays.
    inputs[name] = input.default.includes('job.status') ? jobStatus : String(input.default)
  }
  return inputs
}

export interface ActionRun {
  code: number
  stdout: string
  outputs: string
}

/** Runs the built Action (dist/index.js) the way the GitHub runner does, for one workflow of a dispatched repository. */
export function runAction(options: {
  dir: string
  id: string
  repository: string
  event: object
  jobStatus: string
  inputs?: Record<string, string>
}): Promise<ActionRun> {
  const files = {
    GITHUB_EVENT_PATH: join(options.dir, `event-${options.id}.json`),
    GITHUB_OUTPUT: join(options.dir, `output-${options.id}`),
    GITHUB_STEP_SUMMARY: join(options.dir, `summary-${options.id}.md`),
  }
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(options.event))
  writeFileSync(files.GITHUB_OUTPUT, '')
  writeFileSync(files.GITHUB_STEP_SUMMARY, '')
  const inputs = { ...defaultInputs(options.jobStatus), ...options.inputs }
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    ...files,
    GITHUB_ACTIONS: 'true',
    GITHUB_EVENT_NAME: 'repository_dispatch',
    GITHUB_WORKFLOW: 'Integration tests',
    GITHUB_JOB: 'test',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: options.repository,
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_WORKSPACE: options.dir,
  }
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'dist/index.js')],
      { env, cwd: options.dir, timeout: 30_000 },
      (error, stdout) => {
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          stdout,
          outputs: readFileSync(files.GITHUB_OUTPUT, 'utf8'),
        })
      },
    )
  })
}

/** One output from the GITHUB_OUTPUT file (`name<<delimiter … delimiter`). */
export function output(run: ActionRun, name: string): string | undefined {
  const match = new RegExp(`^${name}<<(.+)\\n([\\s\\S]*?)\\n\\1$`, 'm').exec(run.outputs)
  return match?.[2]
}
