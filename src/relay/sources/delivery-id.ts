import { createHash } from 'node:crypto'

/** For registries that send no delivery id: the same bytes delivered again get the same id. */
export function bodyDeliveryId(rawBody: Buffer): string {
  return `sha256:${createHash('sha256').update(rawBody).digest('hex')}`
}

/**
 * For registries whose body says nothing that changes between two pushes of the same tag (Quay):
 * the time of receipt is part of the id, so the second push is not taken for a repeat of the first.
 */
export function receiptDeliveryId(rawBody: Buffer, receivedAt: Date): string {
  const hash = createHash('sha256').update(receivedAt.toISOString()).update('\n').update(rawBody)
  return `sha256:${hash.digest('hex')}`
}

/** One id for a delivery that carries several registry event ids, whatever their order. */
export function combinedDeliveryId(ids: readonly string[]): string {
  if (ids.length === 1 && ids[0] !== undefined) return ids[0]
  const hash = createHash('sha256').update([...ids].sort().join('\n'))
  return `sha256:${hash.digest('hex')}`
}
