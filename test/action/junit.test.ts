import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { countTests, JUnitReportError, readReport } from '../../src/action/junit.js'

const fixture = (name: string) =>
  readFileSync(join(import.meta.dirname, '../fixtures/junit', name), 'utf8')

describe('countTests', () => {
  it.each([
    // tool, file, expected counts
    ['pytest', 'pytest.xml', { tests: 6, failures: 1, errors: 1, skipped: 1 }],
    ['jest-junit', 'jest-junit.xml', { tests: 5, failures: 0, errors: 0, skipped: 1 }],
    [
      'Maven Surefire',
      'TEST-com.acme.app.ImageTest.xml',
      { tests: 4, failures: 1, errors: 0, skipped: 1 },
    ],
    ['go-junit-report', 'go-junit-report.xml', { tests: 5, failures: 1, errors: 0, skipped: 2 }],
    [
      'PHPUnit (suites nested in a suite)',
      'phpunit.xml',
      { tests: 3, failures: 0, errors: 0, skipped: 0 },
    ],
    [
      'a report without totals',
      'without-totals.xml',
      { tests: 5, failures: 1, errors: 1, skipped: 1 },
    ],
  ])('reads the counts of a %s report', (_tool, file, expected) => {
    expect(countTests(fixture(file), file)).toEqual(expected)
  })

  it.each([
    [
      'counts disabled tests as skipped',
      '<testsuite tests="4" failures="0" errors="0" disabled="1" skipped="1"/>',
      { tests: 4, failures: 0, errors: 0, skipped: 2 },
    ],
    [
      'takes missing failure and error attributes as zero',
      '<testsuite name="x" tests="7"/>',
      { tests: 7, failures: 0, errors: 0, skipped: 0 },
    ],
    [
      'counts test cases when the tests attribute is not a number',
      '<testsuite tests="" failures="9"><testcase name="a"/><testcase name="b"><failure/></testcase></testsuite>',
      { tests: 2, failures: 1, errors: 0, skipped: 0 },
    ],
    [
      'adds the test cases a parent suite holds beside its child suites',
      '<testsuite name="p" tests="99"><testcase name="a"/><testsuite name="c" tests="2" failures="1"/></testsuite>',
      { tests: 3, failures: 1, errors: 0, skipped: 0 },
    ],
    [
      'counts an empty <testsuites> as no tests',
      '<?xml version="1.0"?><testsuites/>',
      { tests: 0, failures: 0, errors: 0, skipped: 0 },
    ],
    [
      'ignores a Surefire flaky failure that passed on rerun',
      '<testsuite><testcase name="a"><flakyFailure message="x"/></testcase></testsuite>',
      { tests: 1, failures: 0, errors: 0, skipped: 0 },
    ],
  ])('%s', (_name, xml, expected) => {
    expect(countTests(xml, 'report.xml')).toEqual(expected)
  })

  it.each([
    [
      'a truncated file',
      fixture('truncated.xml'),
      /^reports\/a\.xml is not well-formed XML \(line 4, column \d+\): /,
    ],
    [
      'a coverage report',
      fixture('not-junit.xml'),
      /^reports\/a\.xml is not a JUnit XML report: it has a <coverage> root element, expected <testsuites> or <testsuite>$/,
    ],
    ['an empty file', '  \n', /^reports\/a\.xml is empty, not a JUnit XML report$/],
  ])('names the file when it is %s', (_name, xml, message) => {
    expect(() => countTests(xml, 'reports/a.xml')).toThrow(JUnitReportError)
    expect(() => countTests(xml, 'reports/a.xml')).toThrow(message)
  })
})

describe('readReport', () => {
  it.each([
    [
      'pytest',
      'pytest.xml',
      ['tests.test_deploy.test_rolls_back_on_failure', 'tests.test_deploy.test_talks_to_registry'],
    ],
    ['jest-junit', 'jest-junit.xml', []],
    ['Maven Surefire', 'TEST-com.acme.app.ImageTest.xml', expect.any(Array)],
  ])('names the failed and errored test cases of a %s report', (_tool, file, failed) => {
    const report = readReport(fixture(file), file)
    expect(report.counts).toEqual(countTests(fixture(file), file))
    expect(report.failed).toEqual(failed)
    expect(report.failed.length).toBe(report.counts.failures + report.counts.errors)
  })

  it('names cases in nested suites, and a case without a class by its name alone', () => {
    const xml =
      '<testsuites><testsuite name="p"><testcase name="top"><error/></testcase><testsuite name="c"><testcase classname="pkg" name="inner"><failure/></testcase><testcase name="ok"/></testsuite></testsuite></testsuites>'
    expect(readReport(xml, 'report.xml').failed).toEqual(['top', 'pkg.inner'])
  })
})
