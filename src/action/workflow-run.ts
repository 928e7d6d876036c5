/** The link to this workflow run (and to this attempt, once it was re-run), when the runner says. */
export function runUrl(env: NodeJS.ProcessEnv): string | null {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT } = env
  if (!GITHUB_SERVER_URL || !GITHUB_REPOSITORY || !GITHUB_RUN_ID) return null
  const url = `${GITHUB_SERVER_URL.replace(/\/+$/, '')}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`
  const attempt = Number(GITHUB_RUN_ATTEMPT)
  return Number.isInteger(attempt) && attempt > 1 ? `${url}/attempts/${attempt}` : url
}

/** "<workflow> / <job>", as far as the runner names them. */
export function workflowContext(env: NodeJS.ProcessEnv): string | null {
  const parts = [env.GITHUB_WORKFLOW, env.GITHUB_JOB].filter((part): part is string => !!part)
  return parts.length > 0 ? parts.join(' / ') : null
}
