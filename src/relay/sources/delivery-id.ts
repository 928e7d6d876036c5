import { createHash } from 'node:crypto'

/**
 * For registries that send no delivery id: the same bytes delivered again get the same id. The
 * registry's own time of the push, when the body gives one, leads the id (`<time>/sha256:<hex>`):
 * ids then sort in the order of the pushes, so the index that dedupes deliveries grows at its end
 * rather than taking a write to a page of its own for every event.
 */
export function bodyDeliveryId(rawBody: Buffer, sentAt: string | null = null): string {
  const hash = `sha256:${createHash('sha256').update(rawBody).digest('hex')}`
  return sentAt === null ? hash : `${sentAt}/${hash}`
}

/** One id for a delivery that carries several registry event ids, whatever their order. */
export function combinedDeliveryId(ids: readonly string[]): string {
  if (ids.length === 1 && ids[0] !== undefined) return ids[0]
  const hash = createHash('sha256').update([...ids].sort().join('\n'))
  return `sha256:${hash.digest('hex')}`
}
