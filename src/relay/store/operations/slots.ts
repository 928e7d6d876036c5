import { get, operation } from '../query.js'

export const slotOperations = {
  /**
   * Takes the next free slot of a paced resource shared by every relay on this database (GitHub
   * writes under one token): slots are `intervalMs` apart. Returns the slot's time (epoch ms),
   * at or after `now`. With `latest` (at or after `now`), a slot later than it is not taken: the
   * answer is then the next free slot, after `latest`, and nothing changes.
   */
  reserveSlot: operation(
    'statement',
    function* (_dialect, key: string, intervalMs: number, now: number, latest?: number) {
      // Whole milliseconds, the interval rounded up: a slot a fraction early would pace too fast.
      const at = Math.floor(now)
      const interval = Math.ceil(intervalMs)
      const limit = latest === undefined ? null : Math.floor(latest)
      const taken = yield* get<{ slot: number | string }>(
        {
          sqlite: `INSERT INTO write_slots (key, next_at) VALUES (?, ? + ?)
          ON CONFLICT (key) DO UPDATE SET next_at = MAX(write_slots.next_at, ?) + ?
          WHERE ? IS NULL OR write_slots.next_at <= ?
          RETURNING next_at - ? AS slot`,
          postgres: `INSERT INTO write_slots (key, next_at) VALUES (?, ?::bigint + ?::bigint)
          ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(write_slots.next_at, ?::bigint) + ?::bigint
          WHERE ?::bigint IS NULL OR write_slots.next_at <= ?::bigint
          RETURNING next_at - ?::bigint AS slot`,
        },
        [key, at, interval, at, interval, limit, limit, interval],
      )
      if (taken) return Number(taken.slot)
      // Refused: next_at was past `latest`, and it only ever grows, so it still is.
      const free = yield* get<{ next_at: number | string }>(
        'SELECT next_at FROM write_slots WHERE key = ?',
        [key],
      )
      return Number(free?.next_at)
    },
  ),
}
