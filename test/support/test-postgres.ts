import { connect } from 'node:net'
import pg from 'pg'
import { getErrorMessage } from '../../src/shared/errors.js'
import { startEmbeddedPostgres } from './embedded-postgres.js'

/** The PostgreSQL server the tests use, and why that one. */
export interface TestPostgres {
  url: string
  reason: string
  /** Stops the server when the tests started it; else does nothing. */
  stop(): Promise<void>
}

const DEFAULT_PROBE = '127.0.0.1:5432'

/**
 * HOOKCHAIN_TEST_POSTGRES_URL when it is set; else the server that answers at the probe address
 * (HOOKCHAIN_TEST_POSTGRES_PROBE, 127.0.0.1:5432 by default); else a server of the tests' own.
 */
export async function provideTestPostgres(
  env: NodeJS.ProcessEnv = process.env,
): Promise<TestPostgres> {
  const leaveRunning = async () => {}
  const given = env.HOOKCHAIN_TEST_POSTGRES_URL
  if (given) {
    await expectAnswer(
      given,
      `HOOKCHAIN_TEST_POSTGRES_URL (${given})`,
      'fix that URL, or unset it to let the tests use 127.0.0.1:5432 or start a PostgreSQL of their own',
    )
    return { url: given, reason: 'HOOKCHAIN_TEST_POSTGRES_URL is set', stop: leaveRunning }
  }
  const probe = env.HOOKCHAIN_TEST_POSTGRES_PROBE || DEFAULT_PROBE
  const { hostname, port } = parseAddress(probe)
  if (await listens(hostname, port)) {
    const url = `postgres://postgres@${probe}/test`
    await expectAnswer(
      url,
      `the server on ${probe}`,
      `let user postgres in without a password and create database test there, set HOOKCHAIN_TEST_POSTGRES_URL to a server that works, or free ${probe} so that the tests start their own`,
    )
    return { url, reason: `a server answers on ${probe}`, stop: leaveRunning }
  }
  const server = await startEmbeddedPostgres()
  return {
    url: server.url,
    reason: `nothing answers on ${probe}: started embedded-postgres's server as ${server.user} in ${(server.startMs / 1000).toFixed(1)} s`,
    stop: server.stop,
  }
}

function parseAddress(address: string): { hostname: string; port: number } {
  const url = URL.canParse(`tcp://${address}`) ? new URL(`tcp://${address}`) : null
  if (!url?.hostname || !url.port) {
    throw new Error(
      `HOOKCHAIN_TEST_POSTGRES_PROBE is "${address}": give a host and a port, like ${DEFAULT_PROBE}`,
    )
  }
  return { hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port) }
}

/** Whether anything accepts a TCP connection there within a second. */
function listens(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1_000 })
    const answer = (result: boolean) => {
      socket.destroy()
      resolve(result)
    }
    socket.once('connect', () => answer(true))
    socket.once('timeout', () => answer(false))
    socket.once('error', () => answer(false))
  })
}

async function expectAnswer(url: string, what: string, fix: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query('SELECT 1')
  } catch (error) {
    throw new Error(
      `the tests need PostgreSQL, and ${what} does not let them in: ${getErrorMessage(error)}. To fix: ${fix}.`,
    )
  } finally {
    await client.end().catch(() => {})
  }
}
