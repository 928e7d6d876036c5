import { readFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { create } from '@actions/glob'
import { addCounts, NO_TESTS, readReport, type TestCounts } from './junit.js'

/** Failed test names kept for the job summary: it shows a few, then a count. */
const FAILED_NAMES_KEPT = 20

export interface TestResults {
  /** The files read, relative to the working directory, in a stable order. */
  files: string[]
  counts: TestCounts
  /** The first failed or errored test cases, by name (at most 20). */
  failed: string[]
}

/** Finds the JUnit XML files the patterns match and adds up their tests. */
export async function readTestResults(
  patterns: readonly string[],
  workingDirectory: string = process.cwd(),
): Promise<TestResults> {
  const globber = await create(patterns.join('\n'), {
    matchDirectories: false,
    implicitDescendants: false,
  })
  const paths = (await globber.glob()).sort()
  const files: string[] = []
  let counts = NO_TESTS
  const failed: string[] = []
  for (const path of paths) {
    const file = relative(workingDirectory, path) || path
    const report = readReport(await readFile(path, 'utf8'), file)
    counts = addCounts(counts, report.counts)
    failed.push(...report.failed.slice(0, FAILED_NAMES_KEPT - failed.length))
    files.push(file)
  }
  return { files, counts, failed }
}
