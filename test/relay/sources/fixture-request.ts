import { readFileSync } from 'node:fs'
import type { IncomingHttpHeaders } from 'node:http'
import type { SourceRequest } from '../../../src/relay/sources/types.js'

const FIXTURES = new URL('../../fixtures/sources/', import.meta.url)

/** When every test request arrives, unless a test says otherwise. */
export const RECEIVED_AT = new Date('2026-11-26T21:32:00.000Z')

export interface RequestParts {
  headers?: IncomingHttpHeaders
  pathSecret?: string | null
  receivedAt?: Date
}

export function fixtureBytes(name: string): Buffer {
  return readFileSync(new URL(name, FIXTURES))
}

/** A fixture parsed, to be changed by a test and sent with `requestOf`. */
export function fixtureJson(name: string): Record<string, unknown> {
  return JSON.parse(fixtureBytes(name).toString('utf8'))
}

/** A request whose body is a fixture's exact bytes. */
export function fixtureRequest(name: string, parts: RequestParts = {}): SourceRequest {
  return requestOf(fixtureBytes(name), parts)
}

/** A request with the given body: bytes as they are, anything else serialised as JSON. */
export function requestOf(body: Buffer | unknown, parts: RequestParts = {}): SourceRequest {
  const rawBody = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body))
  return {
    headers: parts.headers ?? {},
    rawBody,
    body: JSON.parse(rawBody.toString('utf8')),
    pathSecret: parts.pathSecret ?? null,
    receivedAt: parts.receivedAt ?? RECEIVED_AT,
  }
}

/** What a function threw, for assertions on its fields. */
export function thrownBy(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw, and it returned')
}
