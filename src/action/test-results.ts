import { readFile } from 'node:fs/promises'
import { relative } from 'node:path'
import { create } from '@actions/glob'
import { addCounts, countTests, NO_TESTS, type TestCounts } from './junit.js'

export interface TestResults {
  /** The files read, relative to the working directory, in a stable order. */
  files: string[]
  counts: TestCounts
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
  for (const path of paths) {
    const file = relative(workingDirectory, path) || path
    counts = addCounts(counts, countTests(await readFile(path, 'utf8'), file))
    files.push(file)
  }
  return { files, counts }
}
