import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { readTestResults } from '../../src/action/test-results.js'

const fixtures = join(import.meta.dirname, '../fixtures/junit')

describe('readTestResults', () => {
  let workspace: string

  beforeEach(() => {
    workspace = mkdtempSync(join(tmpdir(), 'hookchain-results-'))
    mkdirSync(join(workspace, 'reports/unit'), { recursive: true })
    mkdirSync(join(workspace, 'reports/e2e'), { recursive: true })
    copyFileSync(join(fixtures, 'pytest.xml'), join(workspace, 'reports/unit/pytest.xml'))
    copyFileSync(join(fixtures, 'jest-junit.xml'), join(workspace, 'reports/e2e/jest.xml'))
    copyFileSync(join(fixtures, 'not-junit.xml'), join(workspace, 'reports/coverage.xml'))
  })

  afterEach(() => {
    rmSync(workspace, { recursive: true, force: true })
  })

  it('adds up every file the patterns match', async () => {
    const results = await readTestResults(
      [join(workspace, 'reports/unit/*.xml'), join(workspace, 'reports/e2e/*.xml')],
      workspace,
    )
    expect(results.files).toEqual(['reports/e2e/jest.xml', 'reports/unit/pytest.xml'])
    expect(results.counts).toEqual({ tests: 11, failures: 1, errors: 1, skipped: 2 })
    expect(results.failed).toEqual([
      'tests.test_deploy.test_rolls_back_on_failure',
      'tests.test_deploy.test_talks_to_registry',
    ])
  })

  it('leaves out files that an exclusion pattern names', async () => {
    const results = await readTestResults(
      [join(workspace, 'reports/**/*.xml'), `!${join(workspace, 'reports/coverage.xml')}`],
      workspace,
    )
    expect(results.files).toEqual(['reports/e2e/jest.xml', 'reports/unit/pytest.xml'])
  })

  it('finds no file, without failing, when nothing matches', async () => {
    const results = await readTestResults([join(workspace, 'nowhere/*.xml')], workspace)
    expect(results).toEqual({
      files: [],
      counts: { tests: 0, failures: 0, errors: 0, skipped: 0 },
      failed: [],
    })
  })

  it('does not take a matched directory for a report', async () => {
    const results = await readTestResults(
      [join(workspace, 'reports/*'), `!${join(workspace, 'reports/coverage.xml')}`],
      workspace,
    )
    expect(results.files).toEqual([])
  })

  it('fails on a matched file that is not a JUnit report, naming it', async () => {
    await expect(readTestResults([join(workspace, 'reports/**/*.xml')], workspace)).rejects.toThrow(
      'reports/coverage.xml is not a JUnit XML report',
    )
  })
})
