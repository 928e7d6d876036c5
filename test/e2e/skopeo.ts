import { execFile } from 'node:child_process'
import type { OciImage } from './oci-image.js'

export const SKOPEO = '/usr/bin/skopeo'

/**
 * Pushes an OCI layout to a registry over plain HTTP with `skopeo copy`, as a CI job would
 * (`--insecure-policy`: the machine may have no /etc/containers/policy.json).
 */
export function copyToRegistry(image: OciImage, reference: string): Promise<void> {
  const args = [
    '--insecure-policy',
    'copy',
    '--quiet',
    '--dest-tls-verify=false',
    `oci:${image.layout}:${image.tag}`,
    `docker://${reference}`,
  ]
  return new Promise((resolve, reject) => {
    execFile(SKOPEO, args, { timeout: 30_000 }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`skopeo ${args.join(' ')} failed: ${stderr || error.message}`))
      else resolve()
    })
  })
}
