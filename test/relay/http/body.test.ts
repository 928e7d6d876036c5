import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { jsonInForm } from '../../../src/relay/http/body.js'
import { Problem } from '../../../src/relay/http/problem.js'

const form = (text: string) => Buffer.from(text, 'utf8')

/** The problem `jsonInForm` throws for a body, so its fields can be checked. */
function refusal(body: string): Problem {
  try {
    jsonInForm(form(body), 'payload')
  } catch (error) {
    if (error instanceof Problem) return error
    throw error
  }
  throw new Error(`jsonInForm took ${JSON.stringify(body)}`)
}

describe('jsonInForm', () => {
  it('reads the JSON of the field, with + and percent escapes decoded', () => {
    const read = jsonInForm(
      form('payload=%7B%22tag%22%3A+%22v1+%C3%A9%22%2C%22n%22%3A2%7D'),
      'payload',
    )
    expect(read.text).toBe('{"tag": "v1 é","n":2}')
    expect(read.value).toEqual({ tag: 'v1 é', n: 2 })
  })

  it('gives back the exact JSON text GitHub encoded, for any document', () => {
    fc.assert(
      fc.property(fc.json(), (json) => {
        const body = new URLSearchParams({ payload: json }).toString()
        const read = jsonInForm(form(body), 'payload')
        expect(read.text).toBe(json)
        expect(read.value).toEqual(JSON.parse(json))
      }),
      { numRuns: 300 },
    )
  })

  it('reads only the named field, wherever it is among others', () => {
    const read = jsonInForm(form('a=1&data=%5B1%2C2%5D&payload=x'), 'data')
    expect(read).toEqual({ text: '[1,2]', value: [1, 2] })
  })

  it('refuses a form without the field, saying how to send the JSON', () => {
    for (const body of ['', 'a=1', 'payloads=%7B%7D', 'Payload=%7B%7D']) {
      const problem = refusal(body)
      expect(problem.status, body).toBe(400)
      expect(problem.slug).toBe('malformed-form')
      expect(problem.detail).toContain('has no payload field')
      expect(problem.detail).toContain('payload=<URL-encoded JSON>')
    }
  })

  it('refuses a form with the field twice, as it cannot tell which holds the JSON', () => {
    const problem = refusal('payload=%7B%7D&payload=%5B%5D')
    expect(problem).toMatchObject({ status: 400, slug: 'malformed-form' })
    expect(problem.detail).toContain('2 payload fields')
  })

  it('refuses a field that is not JSON, naming the field', () => {
    for (const body of ['payload=', 'payload', 'payload=%7B%22a%22%3A', 'payload=not+json']) {
      const problem = refusal(body)
      expect(problem.status, body).toBe(400)
      expect(problem.slug).toBe('malformed-json')
      expect(problem.detail).toMatch(/^The payload field of the form is not valid JSON: .+\.$/)
    }
  })
})
