import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type LoopbackServer, startLoopbackServer } from './loopback-server.js'

// A registry's HTTP API (the OCI distribution spec) as far as the relay reads it: manifests by
// tag or digest (HEAD and GET), image indexes, config blobs, and token auth as Docker Hub, GHCR
// and the CNCF registry do it: 401 with a Bearer challenge, a token from the realm, retry.

export interface RegistryRequest {
  method: string
  path: string
  authorization: string | undefined
  /** Which origin it reached: the registry (127.0.0.1) or the blob "CDN" (localhost). */
  origin: 'registry' | 'cdn'
}

export interface PushedImage {
  /** The digest the tag points to: of the index for a multi-platform image. */
  digest: string
  /** The digest of the config that holds the labels. */
  config: string
}

export interface RegistryStandIn {
  /** `127.0.0.1:<port>`, as image references name it. */
  host: string
  requests: RegistryRequest[]
  /** Pushes an image with these labels (two platforms and an attestation with `index`). */
  push(
    repository: string,
    tag: string,
    options?: { labels?: Record<string, string>; index?: boolean },
  ): PushedImage
  /** The next `count` requests to the registry get this status. */
  fail(count: number, status: number): void
  close(): Promise<void>
}

const INDEX = 'application/vnd.oci.image.index.v1+json'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const CONFIG = 'application/vnd.oci.image.config.v1+json'

/**
 * `credentials`: the token endpoint wants them (basic auth), as a private repository does;
 * without, it hands a token to anyone. Config blobs are redirected to `localhost:<port>/cdn/`,
 * another origin, as registries send blobs to their storage.
 */
export async function startRegistryStandIn(
  options: { credentials?: { username: string; password: string } } = {},
): Promise<RegistryStandIn> {
  const blobs = new Map<string, { type: string; body: Buffer }>()
  const tags = new Map<string, string>()
  const tokens = new Set<string>()
  const requests: RegistryRequest[] = []
  const failures: number[] = []
  let server: LoopbackServer

  const store = (type: string, value: unknown): string => {
    const body = Buffer.from(JSON.stringify(value))
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`
    blobs.set(digest, { type, body })
    return digest
  }
  const challenge = (response: ServerResponse, repository: string) => {
    response.writeHead(401, {
      'content-type': 'application/json',
      'www-authenticate': `Bearer realm="${server.url}/token",service="stand-in",scope="repository:${repository}:pull"`,
    })
    response.end(
      JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
    )
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stand-in')
    const cdn = (request.headers.host ?? '').startsWith('localhost')
    requests.push({
      method: request.method ?? '',
      path: `${url.pathname}${url.search}`,
      authorization: request.headers.authorization,
      origin: cdn ? 'cdn' : 'registry',
    })
    const status = failures.shift()
    if (status !== undefined) {
      response.writeHead(status, { 'content-type': 'application/json' }).end('{"errors":[]}')
      return
    }
    const cdnBlob = /^\/cdn\/(sha256:[a-f0-9]{64})$/.exec(url.pathname)
    if (cdnBlob) {
      const blob = blobs.get(cdnBlob[1] ?? '')
      if (!blob) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob.body)
      return
    }
    if (url.pathname === '/token') {
      const wanted = options.credentials
      const basic = wanted
        ? `Basic ${Buffer.from(`${wanted.username}:${wanted.password}`).toString('base64')}`
        : null
      if (basic !== null && request.headers.authorization !== basic) {
        response.writeHead(401, { 'content-type': 'application/json' })
        response.end(JSON.stringify({ details: 'incorrect username or password' }))
        return
      }
      const token = randomBytes(16).toString('hex')
      tokens.add(token)
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ token, access_token: token, expires_in: 300 }))
      return
    }
    const route = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname)
    if (!route) {
      response.writeHead(404).end()
      return
    }
    const [, repository = '', kind, reference = ''] = route
    const bearer = /^Bearer (\w+)$/.exec(request.headers.authorization ?? '')?.[1]
    if (!bearer || !tokens.has(bearer)) return challenge(response, repository)
    if (kind === 'blobs') {
      if (!blobs.has(reference)) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(307, { location: `http://localhost:${server.port}/cdn/${reference}` })
      response.end()
      return
    }
    const digest = reference.startsWith('sha256:')
      ? reference
      : tags.get(`${repository}:${reference}`)
    const manifest = digest ? blobs.get(digest) : undefined
    if (!digest || !manifest) {
      response.writeHead(404, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN' }] }))
      return
    }
    response.writeHead(200, {
      'content-type': manifest.type,
      'content-length': String(manifest.body.length),
      'docker-content-digest': digest,
    })
    response.end(request.method === 'HEAD' ? undefined : manifest.body)
  }

  server = await startLoopbackServer(handle)
  return {
    host: `127.0.0.1:${server.port}`,
    requests,
    push(repository, tag, { labels = {}, index = false } = {}) {
      const image = (architecture: string) => {
        const config = store(CONFIG, {
          architecture,
          os: 'linux',
          config: { Labels: labels, Cmd: ['/app'] },
          rootfs: { type: 'layers', diff_ids: [] },
        })
        const digest = store(MANIFEST, {
          schemaVersion: 2,
          mediaType: MANIFEST,
          config: { mediaType: CONFIG, digest: config, size: blobs.get(config)?.body.length },
          layers: [],
        })
        return { digest, config }
      }
      const amd64 = image('amd64')
      if (!index) {
        tags.set(`${repository}:${tag}`, amd64.digest)
        return amd64
      }
      const arm64 = image('arm64')
      const attestation = image('unknown')
      const entry = (digest: string, platform: Record<string, string>) => ({
        mediaType: MANIFEST,
        digest,
        size: blobs.get(digest)?.body.length,
        platform,
      })
      const digest = store(INDEX, {
        schemaVersion: 2,
        mediaType: INDEX,
        manifests: [
          // An attestation first, as BuildKit's are listed: never the one to read labels from.
          entry(attestation.digest, { os: 'unknown', architecture: 'unknown' }),
          entry(arm64.digest, { os: 'linux', architecture: 'arm64' }),
          entry(amd64.digest, { os: 'linux', architecture: 'amd64' }),
        ],
      })
      tags.set(`${repository}:${tag}`, digest)
      return { digest, config: amd64.config }
    },
    fail(count, status) {
      for (let i = 0; i < count; i++) failures.push(status)
    },
    close: () => server.close(),
  }
}
