import { XMLParser, XMLValidator } from 'fast-xml-parser'

/** What a set of JUnit XML reports adds up to. `tests` includes the failed and skipped ones. */
export interface TestCounts {
  tests: number
  failures: number
  errors: number
  skipped: number
}

export const NO_TESTS: TestCounts = { tests: 0, failures: 0, errors: 0, skipped: 0 }

/** A file that is not a JUnit XML report; the message names the file and what is wrong. */
export class JUnitReportError extends Error {
  override name = 'JUnitReportError'
}

type XmlElement = Record<string, unknown>

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => name === 'testsuites' || name === 'testsuite' || name === 'testcase',
  // Failure messages, stack traces and captured output are never looked at: skip parsing them.
  stopNodes: ['*.failure', '*.error', '*.skipped', '*.system-out', '*.system-err', '*.properties'],
})

/** A report's counts, and the names of its failed test cases (`classname.name`) in file order. */
export interface TestReport {
  counts: TestCounts
  failed: string[]
}

export function addCounts(a: TestCounts, b: TestCounts): TestCounts {
  return {
    tests: a.tests + b.tests,
    failures: a.failures + b.failures,
    errors: a.errors + b.errors,
    skipped: a.skipped + b.skipped,
  }
}

/**
 * Counts the tests of one JUnit XML report, as pytest, jest-junit, Maven Surefire,
 * go-junit-report and most other tools write it: a `<testsuites>` root with `<testsuite>`
 * children (possibly nested), or a bare `<testsuite>`. `file` only serves the error messages.
 */
export function countTests(xml: string, file: string): TestCounts {
  return readReport(xml, file).counts
}

/** As `countTests`, with the names of the test cases that failed or erred. */
export function readReport(xml: string, file: string): TestReport {
  if (xml.trim() === '') throw new JUnitReportError(`${file} is empty, not a JUnit XML report`)
  const valid = XMLValidator.validate(xml)
  if (valid !== true) {
    const { line, col, msg } = valid.err
    throw new JUnitReportError(
      `${file} is not well-formed XML (line ${line}, column ${col}): ${msg}`,
    )
  }
  const document = parser.parse(xml) as XmlElement
  const root = Object.keys(document).find((key) => !key.startsWith('#'))
  if (root !== 'testsuites' && root !== 'testsuite') {
    const found = root === undefined ? 'no root element' : `a <${root}> root element`
    throw new JUnitReportError(
      `${file} is not a JUnit XML report: it has ${found}, expected <testsuites> or <testsuite>`,
    )
  }
  const suites = elements(document[root])
  return {
    counts: suites.map(countSuite).reduce(addCounts, NO_TESTS),
    failed: suites.flatMap(failedCases),
  }
}

/** The names of a suite's failed and errored cases, its child suites' included. */
function failedCases(suite: XmlElement): string[] {
  const own = elements(suite.testcase)
    .filter((testCase) => 'failure' in testCase || 'error' in testCase)
    .map((testCase) => {
      const name = typeof testCase.name === 'string' ? testCase.name : '(unnamed)'
      return typeof testCase.classname === 'string' && testCase.classname !== ''
        ? `${testCase.classname}.${name}`
        : name
    })
  return [...own, ...elements(suite.testsuite).flatMap(failedCases)]
}

/**
 * Leaf suites are counted, never a parent as well as its children, so totals are not doubled.
 * A suite's own attributes are trusted when they give `tests`; otherwise its test cases are.
 */
function countSuite(suite: XmlElement): TestCounts {
  const children = elements(suite.testsuite)
  const cases = elements(suite.testcase)
  if (children.length > 0) return children.map(countSuite).reduce(addCounts, countCases(cases))
  return countsFromAttributes(suite) ?? countCases(cases)
}

function countsFromAttributes(suite: XmlElement): TestCounts | null {
  const tests = count(suite.tests)
  if (tests === null) return null
  return {
    tests,
    failures: count(suite.failures) ?? 0,
    errors: count(suite.errors) ?? 0,
    // Disabled tests (Google Test, some JUnit 5 reporters) did not run either.
    skipped: (count(suite.skipped) ?? 0) + (count(suite.disabled) ?? 0),
  }
}

function countCases(cases: XmlElement[]): TestCounts {
  const counts = { ...NO_TESTS, tests: cases.length }
  for (const testCase of cases) {
    if ('failure' in testCase) counts.failures++
    else if ('error' in testCase) counts.errors++
    else if ('skipped' in testCase) counts.skipped++
  }
  return counts
}

/** Elements parsed as arrays; an element with neither attributes nor children parses as "". */
function elements(value: unknown): XmlElement[] {
  if (!Array.isArray(value)) return []
  return value.map((item) => (typeof item === 'object' && item !== null ? item : {}))
}

function count(value: unknown): number | null {
  if (typeof value !== 'string' || !/^\s*\d+\s*$/.test(value)) return null
  return Number(value)
}
