import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { OUTPUT_NAMES } from '../../src/action/outputs.js'
import { INPUT_DEFAULTS, INPUT_NAMES, JOB_STATUS_EXPRESSION } from '../../src/action/settings.js'
import { ACTION_VERSION } from '../../src/action/version.js'

const root = join(import.meta.dirname, '../..')

interface ActionMetadata {
  inputs: Record<string, { description?: string; required?: boolean; default?: string }>
  outputs: Record<string, { description?: string }>
  runs: { using: string; main: string }
}

const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as ActionMetadata

describe('action.yml', () => {
  it('declares exactly the inputs that settings.ts reads', () => {
    expect(Object.keys(action.inputs).sort()).toEqual([...INPUT_NAMES].sort())
  })

  it('declares exactly the outputs that the Action sets', () => {
    expect(Object.keys(action.outputs).sort()).toEqual([...OUTPUT_NAMES].sort())
  })

  it('gives the defaults that settings.ts applies', () => {
    for (const [name, value] of Object.entries(INPUT_DEFAULTS)) {
      expect(action.inputs[name]?.default, name).toBe(value)
    }
    expect(action.inputs['job-status']?.default).toBe(JOB_STATUS_EXPRESSION)
  })

  it('makes every input optional and describes every input and output', () => {
    for (const [name, input] of Object.entries(action.inputs)) {
      expect(input.required, name).toBe(false)
      expect(input.description, name).toBeTruthy()
    }
    for (const [name, output] of Object.entries(action.outputs))
      expect(output.description, name).toBeTruthy()
  })

  it('runs the bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' })
  })
})

describe('the Action source', () => {
  it('reads inputs only in settings.ts', () => {
    const dir = join(root, 'src/action')
    const readers = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter(
      (file) =>
        file.endsWith('.ts') &&
        file !== 'settings.ts' &&
        /\bgetInput\(|\bgetMultilineInput\(|\bgetBooleanInput\(/.test(
          readFileSync(join(dir, file), 'utf8'),
        ),
    )
    expect(readers).toEqual([])
  })

  it('sends the version of package.json in its user agent', () => {
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(ACTION_VERSION).toBe(packageJson.version)
  })
})
