import { vi } from 'vitest'

/** What the runner sets that the Action reads; cleared so a test never sees its own CI's. */
const RUNNER_VARIABLES = [
  'GITHUB_EVENT_NAME',
  'GITHUB_EVENT_PATH',
  'GITHUB_OUTPUT',
  'GITHUB_STEP_SUMMARY',
  'GITHUB_STATE',
  'GITHUB_ENV',
  'GITHUB_PATH',
  'GITHUB_WORKFLOW',
  'GITHUB_JOB',
  'GITHUB_SERVER_URL',
  'GITHUB_REPOSITORY',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT',
  'GITHUB_SHA',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'HOOKCHAIN_BACKOFF_MS',
  'RUNNER_DEBUG',
]

/**
 * Sets the Action's environment as the runner would: `inputs` by input name (the runner keeps
 * the dashes: `callback-url` → `INPUT_CALLBACK-URL`), `variables` as they are. Undo with
 * `vi.unstubAllEnvs()`.
 */
export function stubActionEnv(
  inputs: Record<string, string>,
  variables: Record<string, string> = {},
): void {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('INPUT_')) vi.stubEnv(name, undefined)
  }
  for (const name of RUNNER_VARIABLES) vi.stubEnv(name, undefined)
  for (const [name, value] of Object.entries(inputs)) vi.stubEnv(inputVariable(name), value)
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value)
}

export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Captures what the Action writes to stdout (its workflow commands) while `body` runs. */
export async function captureStdout(body: () => unknown): Promise<string> {
  let captured = ''
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    captured += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
    return true
  })
  try {
    await body()
  } finally {
    spy.mockRestore()
  }
  return captured
}

/** Reads the `name<<delimiter … delimiter` entries @actions/core appends to GITHUB_OUTPUT. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const entry = /^([^\n<]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n?\2$/gm
  for (const match of text.matchAll(entry)) outputs[match[1] ?? ''] = match[3] ?? ''
  return outputs
}
