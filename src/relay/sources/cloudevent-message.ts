import type { IncomingHttpHeaders } from 'node:http'
import type { JSONSchemaType } from 'ajv'
import { payloadFormat } from './payload-format.js'
import { isoTimestamp } from './push-times.js'
import { SourcePayloadError, type SourceRequest } from './types.js'

// CloudEvents 1.0 over HTTP, read by hand rather than with the `cloudevents` npm SDK: the SDK
// makes up an `id` and a `time` when they are missing or wrong (breaking source + id
// de-duplication), accepts events without `source`, turns a Buffer body into a garbage event
// without an error, and does not percent-decode `ce-*` headers as the HTTP binding requires.

/** The context attributes the relay reads; extensions (Harbor's `operator`) pass unchecked. */
export interface CloudEventAttributes {
  specversion: string
  id: string
  source: string
  type: string
  time?: string | null
  subject?: string | null
  datacontenttype?: string | null
  data_base64?: string | null
}

/** One CloudEvent as received, in either content mode. */
export interface CloudEvent {
  attributes: CloudEventAttributes & Record<string, unknown>
  /** ISO 8601 UTC of `time`; null when the event has none. */
  time: string | null
  /** Where the data is in the body: '' (binary: the whole body), `/data` or `/data_base64`. */
  dataPointer: string
  /** The event's data as a JSON value; throws `SourcePayloadError` when it is not JSON. */
  data(): unknown
}

/** The media type prefix of the JSON Batch format, which the relay does not take. */
export const BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json'
const STRUCTURED_PREFIX = 'application/cloudevents'

const text = (maxLength: number) => ({ type: 'string', nullable: true, maxLength }) as const

const attributesSchema: JSONSchemaType<CloudEventAttributes> = {
  type: 'object',
  required: ['specversion', 'id', 'source', 'type'],
  properties: {
    specversion: { type: 'string', enum: ['1.0'] },
    id: { type: 'string', minLength: 1, maxLength: 256 },
    source: { type: 'string', minLength: 1, maxLength: 1024 },
    type: { type: 'string', minLength: 1, maxLength: 256 },
    time: text(64),
    subject: text(1024),
    datacontenttype: text(256),
    data_base64: { type: 'string', nullable: true },
  },
}

const structured = payloadFormat('a CloudEvent 1.0 in the JSON format', attributesSchema)
const binary = payloadFormat('a CloudEvent 1.0 in binary mode', attributesSchema)

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: attribute values may hold none
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** Reads the CloudEvent of a request: structured when its media type says so, else binary. */
export function readCloudEvent(request: SourceRequest): CloudEvent {
  const type = mediaTypeOf(request.headers)
  if (type.startsWith('application/cloudevents-batch')) {
    throw new SourcePayloadError(
      `expected one CloudEvent: batched mode (${BATCH_MEDIA_TYPE}) is not supported; turn batching off in the sender`,
    )
  }
  return type.startsWith(STRUCTURED_PREFIX) ? structuredEvent(request.body) : binaryEvent(request)
}

function structuredEvent(body: unknown): CloudEvent {
  const attributes = structured.read(body) as CloudEvent['attributes']
  const time = checkedTime(attributes.time, (problem) => structured.reject('/time', problem))
  const hasData = Object.hasOwn(attributes, 'data') && attributes.data !== null
  const base64 = attributes.data_base64
  if (hasData && typeof base64 === 'string') {
    return structured.reject(
      '/data_base64',
      'must not be sent with /data: an event has one or the other',
    )
  }
  if (typeof base64 === 'string') {
    if (!BASE64.test(base64)) return structured.reject('/data_base64', 'must be base64')
    return {
      attributes,
      time,
      dataPointer: '/data_base64',
      data: () => jsonOf(Buffer.from(base64, 'base64')),
    }
  }
  return { attributes, time, dataPointer: '/data', data: () => attributes.data }
}

function binaryEvent(request: SourceRequest): CloudEvent {
  const read: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    // The Content-Type is the data's: a ce-datacontenttype header, which the binding forbids, is not read.
    if (!name.startsWith('ce-') || name === 'ce-datacontenttype' || typeof value !== 'string')
      continue
    read[name.slice(3)] = headerValue(name, value)
  }
  const missing = ['specversion', 'id', 'source', 'type'].filter(
    (name) => !Object.hasOwn(read, name),
  )
  if (missing.length > 0) {
    throw new SourcePayloadError(
      `expected a CloudEvent: ${missing.map((name) => `ce-${name}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing; in binary mode the headers ce-specversion, ce-id, ce-source and ce-type carry the event, or send it structured as application/cloudevents+json`,
    )
  }
  const contentType = mediaTypeOf(request.headers)
  if (contentType) read.datacontenttype = contentType
  const attributes = inHeaderTerms(() => binary.read(read)) as CloudEvent['attributes']
  const time = checkedTime(attributes.time, (problem) => {
    throw new SourcePayloadError(`expected a CloudEvent 1.0 in binary mode: ce-time ${problem}`)
  })
  return { attributes, time, dataPointer: '', data: () => request.body }
}

/**
 * A `ce-*` header value as the HTTP binding encodes it: a quoted string is unquoted first, then
 * one round of percent-decoding; bytes that are not UTF-8 (or an overlong form) are refused.
 */
export function headerValue(name: string, raw: string): string {
  let value = raw
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(.)/g, '$1')
  }
  let decoded: string
  try {
    decoded = decodeURIComponent(value)
  } catch {
    throw new SourcePayloadError(
      `expected a CloudEvent: the ${name} header is not percent-encoded UTF-8 (a "%" must start %XX, and the bytes must be UTF-8)`,
    )
  }
  if (CONTROL.test(decoded)) {
    throw new SourcePayloadError(
      `expected a CloudEvent: the ${name} header holds a control character once decoded`,
    )
  }
  return decoded
}

/** The pointers of a schema problem in binary mode are the `ce-*` headers that carried them. */
function inHeaderTerms<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (!(error instanceof SourcePayloadError)) throw error
    throw new SourcePayloadError(error.message.replace(/(: |; )\/([a-z0-9_]+)/g, '$1ce-$2'))
  }
}

function checkedTime(
  value: string | null | undefined,
  reject: (problem: string) => never,
): string | null {
  if (value === undefined || value === null) return null
  return isoTimestamp(value) ?? reject(`must be an RFC 3339 time such as 2026-11-26T21:31:57Z`)
}

function jsonOf(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new SourcePayloadError(
      'expected a CloudEvent whose data is JSON: /data_base64 does not decode to a JSON document',
      '/data_base64',
    )
  }
}

function mediaTypeOf(headers: IncomingHttpHeaders): string {
  return (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
}
