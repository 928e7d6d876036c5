import { randomFillSync } from 'node:crypto'

// One call to the system's random source fills ids for a while: a call per id costs more than the id.
const pool = Buffer.alloc(16 * 256)
let offset = pool.length

/**
 * A UUIDv7 (RFC 9562): time-ordered, so newest-first paging is an index scan on the id, and ids
 * made by several relays at once never collide.
 */
export function newId(now: number = Date.now()): string {
  if (offset === pool.length) {
    randomFillSync(pool)
    offset = 0
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + 16))
  offset += 16
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f)
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
