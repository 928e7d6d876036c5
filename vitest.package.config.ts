import { defineConfig } from 'vitest/config'

/**
 * The npm package, packed and installed as a user installs it (`npm run test:package`): too slow
 * for `npm test` where no prebuilt better-sqlite3 can be downloaded, as it then compiles.
 */
export default defineConfig({
  test: {
    include: ['test/package/**/*.package.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
})
