import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { createApp } from '../../../src/relay/http/app.js'
import { createRunService } from '../../../src/relay/runs/service.js'
import { SqliteStore } from '../../../src/relay/store/sqlite-store.js'
import { testSettings } from '../relay-harness.js'

let server: Server | undefined
let dir: string | undefined
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  if (dir) rmSync(dir, { recursive: true, force: true })
  server = dir = undefined
})

describe('GET /readyz', () => {
  it('answers 503 with Retry-After, saying why, once the database no longer answers', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hookchain-readyz-'))
    const store = new SqliteStore(join(dir, 'relay.db'))
    await store.migrate()
    const settings = { ...testSettings('http://127.0.0.1:9'), publicUrl: 'http://relay.test' }
    const logger = pino({ level: 'silent' })
    const runs = createRunService({
      store,
      chains: () => settings.chains,
      now: () => new Date(),
      logger,
      onWork: () => {},
    })
    const app = createApp({ store, runs, settings, logger })
    server = createServer(app)
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`
    expect((await fetch(url)).status).toBe(200)

    await store.close()
    const answer = await fetch(url)
    expect(answer.status).toBe(503)
    expect(answer.headers.get('retry-after')).toBe('5')
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(await answer.json()).toMatchObject({
      type: 'urn:hookchain:problem:database-unavailable',
      detail: expect.stringMatching(/^The sqlite database does not answer: /),
    })
  })
})
