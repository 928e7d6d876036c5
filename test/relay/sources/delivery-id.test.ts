import { describe, expect, it } from 'vitest'
import { bodyDeliveryId, combinedDeliveryId } from '../../../src/relay/sources/delivery-id.js'

describe('delivery ids', () => {
  const body = Buffer.from('{"updated_tags": ["latest"]}')
  const at = '2026-11-26T21:32:00.000Z'
  const later = '2026-11-26T21:32:01.000Z'

  it('hashes a body: the same bytes, the same id', () => {
    expect(bodyDeliveryId(body)).toBe(bodyDeliveryId(Buffer.from(body)))
    expect(bodyDeliveryId(body)).not.toBe(
      bodyDeliveryId(Buffer.from('{"updated_tags":["latest"]}')),
    )
    expect(bodyDeliveryId(body)).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it("leads with the registry's time, so that ids sort in the order of the pushes", () => {
    expect(bodyDeliveryId(body, at)).toBe(`${at}/${bodyDeliveryId(body)}`)
    expect(bodyDeliveryId(body, at)).not.toBe(bodyDeliveryId(body, later))
    const other = Buffer.from('{"updated_tags": ["v2"]}')
    const ids = [bodyDeliveryId(body, later), bodyDeliveryId(other, at)]
    expect([...ids].sort()).toEqual([bodyDeliveryId(other, at), bodyDeliveryId(body, later)])
  })

  it('keeps a single event id and combines several whatever their order', () => {
    expect(combinedDeliveryId(['3c25eeee'])).toBe('3c25eeee')
    expect(combinedDeliveryId(['a', 'b'])).toBe(combinedDeliveryId(['b', 'a']))
    expect(combinedDeliveryId(['a', 'b'])).not.toBe(combinedDeliveryId(['a', 'c']))
    expect(combinedDeliveryId([])).toMatch(/^sha256:/)
  })
})
