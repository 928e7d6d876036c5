import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // PostgreSQL for the store and relay suites: the one given or found, or one started for the run.
    globalSetup: ['test/support/postgres-global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'] } },
      {
        // The relay's end-to-end suites again, on PostgreSQL: same tests, other store.
        extends: true,
        test: {
          name: 'relay on postgres',
          include: [
            'test/relay/relay.test.ts',
            'test/relay/chain-shapes.test.ts',
            'test/relay/http/*.test.ts',
          ],
          env: { HOOKCHAIN_TEST_DATABASE: 'postgres' },
        },
      },
    ],
  },
})
