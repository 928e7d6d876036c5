import { describe, expect, it } from 'vitest'
import {
  bodyDeliveryId,
  combinedDeliveryId,
  receiptDeliveryId,
} from '../../../src/relay/sources/delivery-id.js'

describe('delivery ids', () => {
  const body = Buffer.from('{"updated_tags": ["latest"]}')
  const at = new Date('2026-11-26T21:32:00Z')

  it('hashes a body: the same bytes, the same id', () => {
    expect(bodyDeliveryId(body)).toBe(bodyDeliveryId(Buffer.from(body)))
    expect(bodyDeliveryId(body)).not.toBe(
      bodyDeliveryId(Buffer.from('{"updated_tags":["latest"]}')),
    )
    expect(bodyDeliveryId(body)).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('tells the same bytes received at two times apart', () => {
    expect(receiptDeliveryId(body, at)).toBe(receiptDeliveryId(body, new Date(at)))
    expect(receiptDeliveryId(body, at)).not.toBe(receiptDeliveryId(body, new Date(+at + 1)))
  })

  it('keeps a single event id and combines several whatever their order', () => {
    expect(combinedDeliveryId(['3c25eeee'])).toBe('3c25eeee')
    expect(combinedDeliveryId(['a', 'b'])).toBe(combinedDeliveryId(['b', 'a']))
    expect(combinedDeliveryId(['a', 'b'])).not.toBe(combinedDeliveryId(['a', 'c']))
    expect(combinedDeliveryId([])).toMatch(/^sha256:/)
  })
})
