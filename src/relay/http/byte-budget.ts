/**
 * Bytes the relay holds for requests it has not yet authenticated (a signature covers the body,
 * so it must be read first): bounded in total and per client, so that a flood from one address
 * cannot hold the relay's memory or crowd out everyone else.
 */
export interface ByteBudget {
  /** Holds `bytes` for `client`: false when that would pass either bound (nothing is held then). */
  reserve(client: string, bytes: number): boolean
  release(client: string, bytes: number): void
  /** Bytes held now, in total. */
  readonly held: number
}

export function createByteBudget({
  total,
  perClient,
}: {
  total: number
  perClient: number
}): ByteBudget {
  const byClient = new Map<string, number>()
  let held = 0
  return {
    reserve(client, bytes) {
      const own = byClient.get(client) ?? 0
      if (held + bytes > total || own + bytes > perClient) return false
      held += bytes
      byClient.set(client, own + bytes)
      return true
    },
    release(client, bytes) {
      held -= bytes
      const own = (byClient.get(client) ?? 0) - bytes
      if (own > 0) byClient.set(client, own)
      else byClient.delete(client)
    },
    get held() {
      return held
    },
  }
}
