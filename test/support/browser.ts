import { spawnSync } from 'node:child_process'
import {
  accessSync,
  constants,
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { basename, delimiter, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createBrotliDecompress } from 'node:zlib'
import { getErrorMessage } from '../../src/shared/errors.js'

/** The Chromium the page tests drive, and why that one. */
export interface Chromium {
  executablePath: string
  /** What the executable needs in its environment (the packaged one: its libraries and fonts). */
  env: Record<string, string>
  reason: string
}

/**
 * Headless, and quiet on a machine with no network: without the background-networking flags
 * Chromium keeps trying to reach Google's hosts. `--no-sandbox` lets it run as root, as CI does.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']
const MAC_APPS = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
]
const PACKAGE = '@sparticuz/chromium'
const HOW_TO_GET_ONE = `install Chromium ("apt-get install chromium" on Debian), set CHROMIUM_PATH to a Chromium or Chrome executable, or run "npm ci" on Linux x64, where the ${PACKAGE} package brings one`

/** CHROMIUM_PATH, else a Chromium or Chrome on the PATH, else the one an npm package ships. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<Chromium> {
  const given = env.CHROMIUM_PATH
  if (given) {
    if (!executable(given)) {
      throw new Error(`CHROMIUM_PATH is ${given}, which is no executable file: fix it or unset it`)
    }
    return { executablePath: given, env: {}, reason: 'CHROMIUM_PATH is set' }
  }
  const directories = (env.PATH ?? '').split(delimiter).filter(Boolean)
  for (const name of SYSTEM_NAMES) {
    const found = directories.map((directory) => join(directory, name)).find(executable)
    if (found) return { executablePath: found, env: {}, reason: `${name} is on the PATH` }
  }
  const app = process.platform === 'darwin' ? MAC_APPS.find(executable) : undefined
  if (app) return { executablePath: app, env: {}, reason: 'an installed macOS app' }
  return packagedChromium()
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

/**
 * @sparticuz/chromium's headless Chromium for Linux x64, unpacked once per package version into
 * node_modules/.cache with the libraries it links (NSS) and a font, so that it needs nothing from
 * the system but the C library. The package's own unpacking writes to /tmp and takes the system's
 * libraries outside AWS, which a bare machine lacks.
 */
async function packagedChromium(): Promise<Chromium> {
  const nowhere = `no Chromium on this machine: no CHROMIUM_PATH, none of ${SYSTEM_NAMES.join(', ')} on the PATH`
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `${nowhere}, and ${PACKAGE} has none for ${process.platform}-${process.arch}. To fix: ${HOW_TO_GET_ONE}.`,
    )
  }
  let bin: string
  let version: string
  try {
    const entry = createRequire(import.meta.url).resolve(PACKAGE)
    const root = join(entry.slice(0, entry.lastIndexOf(`${PACKAGE}/`)), PACKAGE)
    bin = join(root, 'bin')
    version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string })
      .version
  } catch (error) {
    throw new Error(
      `${nowhere}, and ${PACKAGE} is not installed (${getErrorMessage(error)}). To fix: ${HOW_TO_GET_ONE}.`,
    )
  }
  const repository = join(import.meta.dirname, '..', '..')
  const folder = join(repository, 'node_modules', '.cache', 'hookchain-chromium', version)
  const started = performance.now()
  let unpacked = false
  if (!executable(join(folder, 'chromium'))) {
    try {
      await unpack(bin, folder)
      unpacked = true
    } catch (error) {
      throw new Error(
        `could not unpack ${PACKAGE} into ${folder}: ${getErrorMessage(error)}. To fix: ${HOW_TO_GET_ONE}.`,
      )
    }
  }
  const took = unpacked
    ? `, unpacked in ${((performance.now() - started) / 1000).toFixed(1)} s`
    : ''
  return {
    executablePath: join(folder, 'chromium'),
    env: {
      LD_LIBRARY_PATH: [join(folder, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_FILE: join(folder, 'fonts.conf'),
    },
    reason: `no system Chromium; ${PACKAGE} ${version}${took}`,
  }
}

/** Unpacks into a folder of its own, then renames it: a run cut short leaves nothing half done. */
async function unpack(bin: string, folder: string): Promise<void> {
  const partial = `${folder}.${process.pid}.partial`
  rmSync(partial, { recursive: true, force: true })
  mkdirSync(partial, { recursive: true })
  try {
    await Promise.all([
      pipeline(
        createReadStream(join(bin, 'chromium.br')),
        createBrotliDecompress(),
        createWriteStream(join(partial, 'chromium'), { mode: 0o755 }),
      ),
      // al2023.tar holds lib/ (NSS, NSPR, expat); fonts.tar holds fonts/ (Open Sans).
      untar(join(bin, 'al2023.tar.br'), partial),
      untar(join(bin, 'fonts.tar.br'), partial),
    ])
    writeFileSync(
      join(partial, 'fonts.conf'),
      [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
        '<fontconfig>',
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
        `  <dir>${join(folder, 'fonts')}</dir>`,
        `  <cachedir>${join(folder, 'fontconfig-cache')}</cachedir>`,
        '</fontconfig>',
        '',
      ].join('\n'),
    )
    try {
      renameSync(partial, folder)
    } catch (error) {
      // Another test process unpacked it first: use theirs.
      if (!executable(join(folder, 'chromium'))) throw error
    }
  } finally {
    rmSync(partial, { recursive: true, force: true })
  }
}

/** A brotli-compressed tar file, unpacked by the system's tar (every Linux has one). */
async function untar(file: string, into: string): Promise<void> {
  const archive = join(into, basename(file, '.br'))
  await pipeline(createReadStream(file), createBrotliDecompress(), createWriteStream(archive))
  // The package's fonts.conf names Lambda's folders: unpack writes one for ours.
  const options = ['--no-same-owner', '--exclude', 'fonts.conf']
  const tar = spawnSync('tar', ['-x', '-f', archive, '-C', into, ...options], { encoding: 'utf8' })
  rmSync(archive)
  if (tar.status !== 0) {
    throw new Error(`tar -x -f ${archive} failed: ${tar.error?.message ?? tar.stderr}`)
  }
}
