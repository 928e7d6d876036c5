import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const WORKFLOWS = join(ROOT, '.github/workflows')

interface Step {
  name?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  if?: string
}

interface Job {
  name?: string
  if?: string
  needs?: string | string[]
  permissions?: Record<string, string>
  steps: Step[]
}

interface Workflow {
  name: string
  on: Record<string, { tags?: string[]; branches?: string[] } | null>
  permissions?: Record<string, string>
  env?: Record<string, string>
  jobs: Record<string, Job>
}

const workflow = (file: string) => parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as Workflow
const files = readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file))
const steps = (w: Workflow) => Object.values(w.jobs).flatMap((job) => job.steps)
const uses = (w: Workflow) => steps(w).flatMap((step) => (step.uses ? [step.uses] : []))
/** The jobs that may write anything, and what. */
const writers = (w: Workflow) =>
  Object.entries(w.jobs).flatMap(([id, job]) =>
    Object.entries(job.permissions ?? {})
      .filter(([, access]) => access === 'write')
      .map(([scope]) => `${id}: ${scope}`),
  )

describe.each(files)('.github/workflows/%s', (file) => {
  const parsed = workflow(file)

  it('reads only the repository contents unless a job says otherwise', () => {
    expect(parsed.permissions).toEqual({ contents: 'read' })
  })

  it('names every step', () => {
    const unnamed = Object.entries(parsed.jobs).flatMap(([id, job]) =>
      job.steps.flatMap((step, index) => (step.name ? [] : [`${id} step ${index + 1}`])),
    )
    expect(unnamed).toEqual([])
  })

  it('pins every action to a major version or a commit', () => {
    for (const action of uses(parsed)) {
      if (action.startsWith('./')) continue
      expect(action).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/)
    }
  })
})

describe('the container workflow', () => {
  const container = workflow('container.yml')

  it('builds with QEMU and Buildx for amd64 and arm64, with the current majors of the Docker actions', () => {
    const actions = uses(container)
    for (const action of [
      'docker/setup-qemu-action@v4',
      'docker/setup-buildx-action@v4',
      'docker/metadata-action@v6',
      'docker/build-push-action@v7',
    ]) {
      expect(actions).toContain(action)
    }
    const platforms = steps(container).map((step) => String(step.with?.platforms ?? ''))
    expect(platforms).toContain('linux/amd64,linux/arm64')
  })

  it('smoke-tests the amd64 image it loaded, with the script in the repository', () => {
    const build = container.jobs.build as Job
    const loaded = build.steps.find((step) => step.with?.load === true)
    expect(loaded?.with?.platforms).toBe('linux/amd64')
    const smoke = build.steps.find((step) => step.run?.includes('scripts/container-smoke-test.sh'))
    expect(smoke?.run).toContain(String(loaded?.with?.tags))
    expect(build.steps.indexOf(smoke as Step)).toBeGreaterThan(build.steps.indexOf(loaded as Step))
    expect(existsSync(join(ROOT, 'scripts/container-smoke-test.sh'))).toBe(true)
  })

  it('publishes to GHCR only for version tags, from the one job that may write packages', () => {
    expect(container.on.push?.tags).toEqual(['v*.*.*'])
    expect(writers(container)).toEqual(['publish: packages'])
    const publish = container.jobs.publish as Job
    expect(publish.needs).toBe('build')
    expect(publish.if).toContain("startsWith(github.ref, 'refs/tags/v')")
    const pushed = publish.steps.filter((step) => step.with?.push === true)
    expect(pushed.length).toBe(1)
    expect(container.env?.IMAGE).toMatch(/^ghcr\.io\/\$\{\{ github\.repository \}\}$/)
  })

  it('passes the OCI labels the Dockerfile reads as build arguments', () => {
    const dockerfileArgs = [
      ...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^ARG (\w+)=/gm),
    ]
      .map((match) => match[1])
      .sort()
    for (const step of steps(container).filter((s) =>
      s.uses?.startsWith('docker/build-push-action'),
    )) {
      const given = String(step.with?.['build-args'])
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
        .sort()
      expect(given, step.name).toEqual(dockerfileArgs)
    }
  })

  it('has a smoke-test script that bash can parse', async () => {
    await expect(
      promisify(execFile)('bash', ['-n', join(ROOT, 'scripts/container-smoke-test.sh')]),
    ).resolves.toBeDefined()
  })
})

describe('the release workflow', () => {
  const release = workflow('release.yml')

  it('runs on version tags, and only its job may write, to the repository contents', () => {
    expect(release.on.push?.tags).toEqual(['v*.*.*'])
    expect(writers(release)).toEqual(['release: contents'])
  })

  it('takes the notes from CHANGELOG.md, attaches the npm tarball and moves the major tag', () => {
    const runs = steps(release).map((step) => step.run ?? '')
    expect(runs.some((run) => run.includes('scripts/changelog-section.ts CHANGELOG.md'))).toBe(true)
    expect(runs.some((run) => /gh release create .*--notes-file/s.test(run))).toBe(true)
    expect(runs.some((run) => run.includes('npm pack'))).toBe(true)
    expect(runs.some((run) => /git push --force origin "refs\/tags\/\$MAJOR"/.test(run))).toBe(true)
  })
})
