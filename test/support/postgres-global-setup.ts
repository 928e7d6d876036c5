import { provideTestPostgres } from './test-postgres.js'

// vitest calls a global setup once for the root config and once more for each project that
// extends it, all in one process: the first call chooses the server, the others find it chosen.
const chosen = Symbol.for('hookchain.testPostgres')
const state = globalThis as { [chosen]?: boolean }

/**
 * Chooses the PostgreSQL of the store and relay suites (see provideTestPostgres) and hands its URL
 * to the test workers in HOOKCHAIN_TEST_POSTGRES_URL, which they inherit.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (state[chosen]) return async () => {}
  state[chosen] = true
  const postgres = await provideTestPostgres()
  process.env.HOOKCHAIN_TEST_POSTGRES_URL = postgres.url
  console.log(`PostgreSQL for the tests: ${postgres.url} (${postgres.reason})`)
  return async () => {
    await postgres.stop()
    state[chosen] = false
  }
}
