// Bundles the Action (src/action) into dist/index.js, with dist/licenses.txt for the code it
// carries. `npm run package`; CI rebuilds it and fails when the committed bundle differs.
// Reading JUnit files (@actions/glob, fast-xml-parser) is most of the code: it is a bundle of
// its own, dist/test-results.js, loaded only when a run has test results to read. Start mode
// (src/action/start) is another, dist/start-chain.js, loaded only when the chain input is set.
// `--metafile <file>` also writes which sources each bundle holds, for the tests.
//
// A few choices keep a run of the Action close to a bare `node` start (see docs/benchmarks.md),
// and all leave the behaviour as it is:
// - CommonJS, not ES modules (dist/package.json says so): Node's ES module loader, and the
//   namespace objects it builds for built-in modules (which load fs/promises and streams the
//   Action never uses), cost about 6 ms a run.
// - ajv: src/shared/callback.ts compiles the callback schema when it loads, and ajv's first
//   compile also compiles its meta-schema, about 20 ms. The bundle carries the same validator,
//   generated here by ajv's standalone code from that same schema and those same options; the
//   bundled `Ajv` refuses any other schema or options, so the two cannot drift apart silently.
// - @actions/http-client: @actions/core imports it, and with it undici (400 kB, 30 ms to load),
//   only for core.getIDToken(), which the Action never calls.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import standaloneCode from 'ajv/dist/standalone/index.js'
import { build } from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'src/action/index.ts')
/** The modules that main.ts imports lazily: each becomes a bundle of its own, named as it is. */
const lazyEntries = ['src/action/test-results.ts', 'src/action/start/start-chain.ts'].map((path) =>
  join(root, path),
)
const outdir = join(root, 'dist')
const licensesFile = join(outdir, 'licenses.txt')
const callbackModule = join(root, 'src/shared/callback.ts')
const MAX_BUNDLE_BYTES = 1024 * 1024
/** The options src/shared/callback.ts gives ajv; the bundled stand-in checks them. */
const CALLBACK_AJV_OPTIONS = { allErrors: true, strict: true }

const common = {
  bundle: true,
  platform: 'node',
  target: 'node24',
  logLevel: 'warning',
  absWorkingDir: root,
}

async function main() {
  const precompiled = await precompileCallbackValidator()
  const builds = await Promise.all(
    [entry, ...lazyEntries].map((entryPoint) => bundle(entryPoint, precompiled)),
  )
  const files = [
    ...builds.flatMap((result) => result.files),
    // dist/ sits in this ES module package, and its bundles are CommonJS.
    { path: join(outdir, 'package.json'), text: `${JSON.stringify({ type: 'commonjs' })}\n` },
    { path: licensesFile, text: licensesOf(builds.map((result) => result.metafile)) },
  ]
  const size = files
    .filter((file) => file.path.endsWith('.js'))
    .reduce((total, file) => total + Buffer.byteLength(file.text), 0)
  if (size > MAX_BUNDLE_BYTES) {
    console.error(
      `The bundle is over ${MAX_BUNDLE_BYTES / 1024} kB: bundle less (see the metafile).`,
    )
    process.exit(1)
  }
  for (const file of files) {
    writeIfChanged(file.path, file.text)
    console.log(
      `${relative(root, file.path)}: ${(Buffer.byteLength(file.text) / 1024).toFixed(1)} kB`,
    )
  }
  // What an earlier build made and this one does not.
  const made = new Set(files.map((file) => file.path))
  for (const name of readdirSync(outdir, { recursive: true, encoding: 'utf8' })) {
    const path = join(outdir, name)
    if (!made.has(path) && statSync(path).isFile()) rmSync(path)
  }
  for (const name of readdirSync(outdir)) {
    const path = join(outdir, name)
    if (statSync(path).isDirectory() && readdirSync(path).length === 0)
      rmSync(path, { recursive: true })
  }
  const metafileAt = process.argv.indexOf('--metafile')
  if (metafileAt !== -1) writeSourcesOfBundles(process.argv[metafileAt + 1], builds)
}

/** `{ "dist/index.js": ["src/action/main.ts", …] }`: the files whose code each bundle holds. */
function writeSourcesOfBundles(path, builds) {
  if (!path) throw new Error('--metafile needs a file name')
  const sources = {}
  for (const { metafile } of builds) {
    for (const [output, { inputs }] of Object.entries(metafile.outputs)) {
      sources[output] = Object.entries(inputs)
        .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
        .map(([input]) => input)
        .sort()
    }
  }
  writeFileSync(path, `${JSON.stringify(sources, null, 2)}\n`)
}

/**
 * Leaves a file that already holds the text alone, and replaces one that does not in a single
 * rename: a test or bench running the Action meanwhile never sees a file half written.
 */
function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return
  mkdirSync(dirname(path), { recursive: true })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, path)
}

async function bundle(entryPoint, precompiled) {
  const result = await build({
    ...common,
    entryPoints: [entryPoint],
    outdir,
    entryNames: '[name]',
    format: 'cjs',
    // import() becomes require(): what the Action loads lazily stays out of Node's ES module loader.
    supported: { 'dynamic-import': false },
    write: false,
    minify: !process.env.NOMINIFY,
    legalComments: 'none',
    metafile: true,
    plugins: [
      precompiledAjv(precompiled),
      withoutHttpClient(),
      lazyModules(entryPoint),
      toolkitWithoutSideEffects(),
    ],
  })
  const files = result.outputFiles.map((file) => ({ path: file.path, text: file.text }))
  return { files, metafile: result.metafile }
}

/**
 * An import of a lazily loaded module (`import('./start/start-chain.js')`) loads its bundle
 * (`./start-chain.js`, beside dist/index.js), not a copy of it.
 */
function lazyModules(entryPoint) {
  return {
    name: 'lazy-modules',
    setup(buildApi) {
      buildApi.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        const source = resolve(args.resolveDir, args.path.replace(/\.js$/, '.ts'))
        if (source === entryPoint || !lazyEntries.includes(source)) return undefined
        return { path: `./${basename(args.path)}`, external: true }
      })
    },
  }
}

/** Loads the callback schema from its TypeScript source and generates its validator's code. */
async function precompileCallbackValidator() {
  const loaded = await build({
    ...common,
    entryPoints: [callbackModule],
    format: 'esm',
    write: false,
  })
  const source = loaded.outputFiles[0].text
  const { callbackSchema } = await import(
    `data:text/javascript;base64,${Buffer.from(source).toString('base64')}`
  )
  const ajv = new Ajv({ ...CALLBACK_AJV_OPTIONS, code: { source: true, esm: true } })
  const validate = ajv.compile(callbackSchema)
  return {
    code: standaloneCode(ajv, validate),
    schema: JSON.stringify(callbackSchema),
    options: JSON.stringify(CALLBACK_AJV_OPTIONS),
  }
}

function precompiledAjv(precompiled) {
  return {
    name: 'precompiled-ajv',
    setup(buildApi) {
      buildApi.onResolve({ filter: /^ajv$/ }, (args) => {
        if (args.importer !== callbackModule) {
          throw new Error(
            `${args.importer} imports ajv: only src/shared/callback.ts is precompiled`,
          )
        }
        return { path: 'ajv', namespace: 'precompiled-ajv' }
      })
      buildApi.onResolve({ filter: /^callback-validator$/ }, () => ({
        path: 'callback-validator',
        namespace: 'precompiled-ajv',
      }))
      buildApi.onLoad({ filter: /^callback-validator$/, namespace: 'precompiled-ajv' }, () => ({
        contents: precompiled.code,
        resolveDir: root,
        loader: 'js',
      }))
      buildApi.onLoad({ filter: /^ajv$/, namespace: 'precompiled-ajv' }, () => ({
        contents: `
import validate from 'callback-validator'
const stale = 'dist/index.js was built for another callback schema: run npm run package'
export class Ajv {
  constructor(options) {
    if (JSON.stringify(options) !== ${JSON.stringify(precompiled.options)}) throw new Error(stale)
  }
  compile(schema) {
    if (JSON.stringify(schema) !== ${JSON.stringify(precompiled.schema)}) throw new Error(stale)
    return validate
  }
}`,
        resolveDir: root,
        loader: 'js',
      }))
    },
  }
}

function withoutHttpClient() {
  return {
    name: 'without-http-client',
    setup(buildApi) {
      buildApi.onResolve({ filter: /^@actions\/http-client(\/.*)?$/ }, (args) => ({
        path: args.path,
        namespace: 'without-http-client',
      }))
      buildApi.onLoad({ filter: /.*/, namespace: 'without-http-client' }, () => ({
        contents: `
const missing = () => { throw new Error('@actions/http-client is not in the hookchain bundle') }
export class HttpClient { constructor() { missing() } }
export class BearerCredentialHandler { constructor() { missing() } }`,
        loader: 'js',
      }))
    },
  }
}

/**
 * The toolkit's modules (@actions/core, io, exec…) only define things when loaded, but their
 * packages do not say so (`"sideEffects": false`), and a few run a statement like
 * `const { appendFile } = fs.promises` at load. Said here, the bundle leaves out the modules the
 * Action does not use, such as core's summary and platform, instead of running those statements
 * (which load fs/promises, about 2 ms) on every run.
 */
function toolkitWithoutSideEffects() {
  return {
    name: 'toolkit-without-side-effects',
    setup(buildApi) {
      buildApi.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.toolkit || args.namespace !== 'file') return undefined
        const inToolkit =
          /^@actions\//.test(args.path) || /node_modules\/@actions\//.test(args.importer)
        if (!inToolkit) return undefined
        const resolved = await buildApi.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { toolkit: true },
        })
        if (resolved.errors.length > 0 || !/node_modules\/@actions\//.test(resolved.path)) {
          return undefined
        }
        return { ...resolved, sideEffects: false }
      })
    },
  }
}

/** The license of every package whose code is in the bundle, from the package itself. */
function licensesOf(metafiles) {
  const packages = new Map()
  const inputs = metafiles
    .flatMap((metafile) => Object.values(metafile.outputs))
    .flatMap((output) => Object.entries(output.inputs))
  for (const [input, { bytesInOutput }] of inputs) {
    if (bytesInOutput === 0) continue
    const at = input.lastIndexOf('node_modules/')
    if (at === -1) continue
    const rest = input.slice(at + 'node_modules/'.length).split('/')
    const name = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
    const dir = join(root, input.slice(0, at), 'node_modules', name)
    packages.set(dir, name)
  }
  const sections = [...packages.entries()]
    .map(([dir, name]) => {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
      const licenseFile = readdirSync(dir)
        .sort()
        .find((file) => /^(licen[cs]e|copying)(\.|$)/i.test(file))
      const text = licenseFile
        ? readFileSync(join(dir, licenseFile), 'utf8').replace(/\r\n?/g, '\n').trim()
        : `The package has no license file; its package.json says: ${manifest.license}`
      return { name, heading: `${name} ${manifest.version} (${manifest.license})`, text }
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  const rule = '-'.repeat(80)
  return [
    'dist/ bundles the packages below. Their licenses follow, as each package ships it.',
    ...sections.map((s) => `${rule}\n${s.heading}\n${rule}\n\n${s.text}`),
  ]
    .join('\n\n')
    .concat('\n')
}

await main()
