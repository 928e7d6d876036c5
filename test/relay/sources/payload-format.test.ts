import type { JSONSchemaType } from 'ajv'
import { describe, expect, it } from 'vitest'
import { payloadFormat } from '../../../src/relay/sources/payload-format.js'
import { SourcePayloadError } from '../../../src/relay/sources/types.js'

interface Sample {
  name: string
  items: string[]
  inner: { count: number }
}

const schema: JSONSchemaType<Sample> = {
  type: 'object',
  required: ['name', 'items', 'inner'],
  properties: {
    name: { type: 'string', maxLength: 5 },
    items: { type: 'array', maxItems: 2, items: { type: 'string' } },
    inner: { type: 'object', required: ['count'], properties: { count: { type: 'number' } } },
  },
}

const format = payloadFormat('a sample payload', schema)

function errorFor(body: unknown): SourcePayloadError {
  try {
    format.read(body)
  } catch (error) {
    if (error instanceof SourcePayloadError) return error
    throw error
  }
  throw new Error('expected the body to be refused')
}

describe('payloadFormat', () => {
  it('returns a body that fits, extra fields and all', () => {
    const body = { name: 'a', items: [], inner: { count: 1 }, extra: true }

    expect(format.read(body)).toBe(body)
  })

  it.each([
    [[], '(body) must be an object', ''],
    [{ items: [], inner: { count: 1 } }, '/name is required', '/name'],
    [
      { name: 'toolong', items: [], inner: { count: 1 } },
      '/name must be at most 5 characters',
      '/name',
    ],
    [
      { name: 'a', items: ['a', 'b', 'c'], inner: { count: 1 } },
      '/items must hold at most 2 items',
      '/items',
    ],
    [{ name: 'a', items: [1], inner: { count: 1 } }, '/items/0 must be a string', '/items/0'],
    [
      { name: 'a', items: [], inner: { count: '1' } },
      '/inner/count must be a number',
      '/inner/count',
    ],
  ])('words what is wrong with %j', (body, problem, pointer) => {
    const error = errorFor(body)

    expect(error.message).toBe(`expected a sample payload: ${problem}`)
    expect(error.pointer).toBe(pointer)
  })

  it('lists every problem and points at the first', () => {
    const error = errorFor({ name: 1, items: 'x' })

    expect(error.pointer).toBe('/inner')
    expect(error.message).toBe(
      'expected a sample payload: /inner is required; /name must be a string; /items must be an array',
    )
  })

  it('points from the root of the body at a part read on its own', () => {
    let error: unknown
    try {
      format.read({ items: [], inner: {} }, '/data')
    } catch (caught) {
      error = caught
    }

    expect(error).toEqual(
      new SourcePayloadError(
        'expected a sample payload: /data/name is required; /data/inner/count is required',
        '/data/name',
      ),
    )
  })

  it('words enums and lower bounds of length', () => {
    const bounded = payloadFormat<{ version: string; id: string; word: string }>('a bounded one', {
      type: 'object',
      required: ['version', 'id', 'word'],
      properties: {
        version: { type: 'string', enum: ['1.0', '1.1'] },
        id: { type: 'string', minLength: 1 },
        word: { type: 'string', minLength: 3 },
      },
    })

    expect(() => bounded.read({ version: '0.3', id: '', word: 'ab' })).toThrow(
      'expected a bounded one: /version must be "1.0" or "1.1"; /id must not be empty; /word must be at least 3 characters',
    )
  })

  it('rejects a value the schema cannot judge with the same wording', () => {
    expect(() => format.reject('/name', 'must be a known name')).toThrow(
      new SourcePayloadError('expected a sample payload: /name must be a known name', '/name'),
    )
  })
})
