import { defineConfig } from 'vitest/config'

/** Suites too slow for `npm test`: property-based bad input against a real relay (`npm run test:fuzz`). */
export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.fuzz.ts'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
})
