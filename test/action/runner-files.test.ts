import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { appendOutputs, appendSummary, delimiterFor } from '../../src/action/runner-files.js'
import { parseOutputFile } from './action-env.js'

let dir: string
let outputFile: string
let summaryFile: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hookchain-runner-files-'))
  outputFile = join(dir, 'output')
  summaryFile = join(dir, 'summary.md')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach(() => {
  writeFileSync(outputFile, 'earlier<<EOF\nkept\nEOF\n')
  writeFileSync(summaryFile, '')
  vi.stubEnv('GITHUB_OUTPUT', outputFile)
  vi.stubEnv('GITHUB_STEP_SUMMARY', summaryFile)
})
afterEach(() => vi.unstubAllEnvs())

describe('appendOutputs', () => {
  it('appends every output in the multi-line form the runner reads, after what was there', () => {
    expect(
      appendOutputs({ state: 'success', description: 'line one\nline two', context: '' }),
    ).toBe(true)
    const text = readFileSync(outputFile, 'utf8')
    expect(text.startsWith('earlier<<EOF\nkept\nEOF\n')).toBe(true)
    expect(parseOutputFile(text)).toEqual({
      state: 'success',
      description: 'line one\nline two',
      context: '',
    })
  })

  it('keeps a value that holds a delimiter from ending its output early', () => {
    const sneaky = 'x\nghadelimiter_hookchain\nstate<<ghadelimiter_hookchain_1\nsuccess'
    appendOutputs({ description: sneaky, state: 'failure' })
    expect(parseOutputFile(readFileSync(outputFile, 'utf8'))).toEqual({
      description: sneaky,
      state: 'failure',
    })
  })

  it('says so, and writes nothing, where the runner offers no output file', () => {
    vi.stubEnv('GITHUB_OUTPUT', '')
    expect(appendOutputs({ state: 'success' })).toBe(false)
    expect(readFileSync(outputFile, 'utf8')).toBe('earlier<<EOF\nkept\nEOF\n')
  })
})

describe('delimiterFor', () => {
  it('picks a delimiter the value does not contain', () => {
    expect(delimiterFor('plain')).toBe('ghadelimiter_hookchain')
    const value = 'ghadelimiter_hookchain ghadelimiter_hookchain_1 ghadelimiter_hookchain_2'
    const delimiter = delimiterFor(value)
    expect(value.includes(delimiter)).toBe(false)
    expect(delimiter).toBe('ghadelimiter_hookchain_3')
  })
})

describe('appendSummary', () => {
  it('appends to the job summary', () => {
    appendSummary('one\n')
    expect(appendSummary('two\n')).toBe(true)
    expect(readFileSync(summaryFile, 'utf8')).toBe('one\ntwo\n')
  })

  it('says so where the runner offers no summary', () => {
    vi.stubEnv('GITHUB_STEP_SUMMARY', '')
    expect(appendSummary('lost\n')).toBe(false)
  })
})
