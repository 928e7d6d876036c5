import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { getErrorMessage } from '../../shared/errors.js'
import { PostError } from './json-post.js'
import { RefusedAddressError } from './outbound-address.js'

export interface GetOptions {
  method: 'GET' | 'HEAD'
  headers: Record<string, string>
  /** For the whole exchange. */
  timeoutMs: number
  /** An answer with a longer body fails: registries' manifests and configs are small. */
  maxResponseBytes: number
  /** Resolves the host (and may refuse its addresses); default: the system resolver. */
  lookup?: LookupFunction
}

export interface GetAnswer {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
}

/**
 * One GET (or HEAD) of a registry's HTTP API: no redirect followed, no pooled connection, a
 * deadline over the whole exchange, and a body read only up to a bound. Throws `PostError` (the
 * same reasons as a POST's) when no whole answer came.
 */
export function registryGet(url: URL, options: GetOptions): Promise<GetAnswer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise<GetAnswer>((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const request = send(url, {
      method: options.method,
      agent: false,
      headers: options.headers,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    })
    const fail = (error: PostError) => {
      clearTimeout(deadline)
      request.destroy()
      reject(error)
    }
    const deadline = setTimeout(
      () => fail(new PostError(`no answer within ${options.timeoutMs} ms`, 'timeout')),
      options.timeoutMs,
    )
    request.on('error', (error) => {
      if (error instanceof PostError) return fail(error)
      if (error instanceof RefusedAddressError) return fail(new PostError(error.message, 'refused'))
      fail(new PostError(getErrorMessage(error), 'network'))
    })
    request.on('response', (response) => {
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > options.maxResponseBytes) {
          fail(
            new PostError(
              `the answer is larger than ${options.maxResponseBytes} bytes, more than a manifest or an image config`,
              'network',
            ),
          )
          return
        }
        chunks.push(chunk)
      })
      response.on('end', () => {
        clearTimeout(deadline)
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        })
      })
      response.on('error', (error) => fail(new PostError(getErrorMessage(error), 'network')))
    })
    request.end()
  })
}
