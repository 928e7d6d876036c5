import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

export interface OciImage {
  /** The OCI image layout directory (`oci-layout`, `index.json`, `blobs/sha256/…`). */
  layout: string
  tag: string
  /** The manifest's digest, as the registry will report it. */
  digest: string
}

interface Blob {
  digest: string
  size: number
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`
}

/**
 * Writes a one-layer image as an OCI image layout, built here from nothing: no Docker, no base
 * image. The layer is one file whose text names the tag (and `build`, to push a tag again as
 * another image), so every tag is a different image; `labels` go in its config, as
 * `docker build --label` and docker/metadata-action put them.
 */
export function buildOciImage(
  dir: string,
  tag: string,
  { labels, build = '' }: { labels?: Record<string, string>; build?: string } = {},
): OciImage {
  const name = build ? `${tag}-${build}` : tag
  const layout = join(dir, `image-${name}`)
  const blobs = join(layout, 'blobs', 'sha256')
  mkdirSync(blobs, { recursive: true })
  const rootfs = join(dir, `rootfs-${name}`)
  mkdirSync(rootfs, { recursive: true })
  writeFileSync(
    join(rootfs, 'hello.txt'),
    `hello from hookchain ${tag}${build ? ` ${build}` : ''}\n`,
  )
  // A reproducible tar: fixed order, time and owner.
  const tar = execFileSync('tar', [
    '--create',
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--directory',
    rootfs,
    'hello.txt',
  ])
  const writeBlob = (bytes: Buffer): Blob => {
    const digest = sha256(bytes)
    writeFileSync(join(blobs, digest.slice('sha256:'.length)), bytes)
    return { digest, size: bytes.length }
  }
  const json = (value: unknown) => Buffer.from(JSON.stringify(value))

  const layer = writeBlob(gzipSync(tar))
  const config = writeBlob(
    json({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['cat', '/hello.txt'], ...(labels ? { Labels: labels } : {}) },
      rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    }),
  )
  const manifest = writeBlob(
    json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
    }),
  )
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  )
  return { layout, tag, digest: manifest.digest }
}
