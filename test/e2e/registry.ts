import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export const REGISTRY_BINARY = '/usr/bin/docker-registry'
export const SKOPEO = '/usr/bin/skopeo'

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}

export interface Registry {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string
  child: ChildProcess
  stop(): Promise<void>
}

/** A real CNCF distribution registry (Debian's docker-registry) that notifies the relay of every push and pull. */
export async function startRegistry(
  dir: string,
  notify: { url: string; token: string },
): Promise<Registry> {
  const port = await freePort()
  const config = join(dir, 'registry.yml')
  writeFileSync(
    config,
    `version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${join(dir, 'storage')}
http:
  addr: 127.0.0.1:${port}
notifications:
  endpoints:
    - name: hookchain
      url: ${notify.url}
      headers:
        Authorization: [Bearer ${notify.token}]
      timeout: 2s
      threshold: 5
      backoff: 1s
`,
  )
  const child = spawn(REGISTRY_BINARY, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const host = `127.0.0.1:${port}`
  const deadline = Date.now() + 15_000
  for (;;) {
    try {
      if ((await fetch(`http://${host}/v2/`)).ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`the registry did not start:\n${stderr}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    host,
    child,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/** Writes a one-layer OCI image layout, built here from nothing: no Docker, no base image. */
export function buildOciImage(dir: string, tag: string): string {
  const layout = join(dir, `image-${tag}`)
  const blobs = join(layout, 'blobs', 'sha256')
  mkdirSync(blobs, { recursive: true })
  const content = join(dir, `rootfs-${tag}`)
  mkdirSync(content, { recursive: true })
  writeFileSync(join(content, 'hello.txt'), `hello from hookchain ${tag}\n`)
  const tar = execFileSync('tar', [
    '--create',
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--directory',
    content,
    'hello.txt',
  ])
  const layer = gzipSync(tar)
  const blob = (bytes: Buffer) => {
    const digest = sha256(bytes)
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), bytes)
    return { digest, size: bytes.length }
  }
  const layerBlob = blob(layer)
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  )
  const configBlob = blob(config)
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerBlob }],
    }),
  )
  const manifestBlob = blob(manifest)
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifestBlob,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  )
  return layout
}

/** Pushes the layout to the registry with skopeo, as a CI job would. Returns the manifest digest. */
export function push(layout: string, tag: string, reference: string): string {
  execFileSync(
    SKOPEO,
    [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      `oci:${layout}:${tag}`,
      `docker://${reference}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[]
  }
  return index.manifests[0]?.digest ?? ''
}
