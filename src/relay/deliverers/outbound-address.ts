import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'

/** Where a registry's own `callback_url` may be called (`registry_callbacks` in the config). */
export interface CallbackPolicy {
  /** Hosts, optionally with a port (`registry.example.com:5000`, `[::1]:8443`); case-insensitive. */
  allowedHosts: readonly string[]
  /** Plain http as well as https: only for registries on a trusted network. */
  allowHttp: boolean
}

export type UrlCheck =
  | {
      ok: true
      url: URL
      /**
       * The host is an IP literal listed in allowedHosts: connect to it whatever it is. A listed
       * host name must still resolve to public addresses.
       */
      listedAddress: boolean
    }
  | { ok: false; reason: string }

/** Refused because of the address a host name resolved to. */
export class RefusedAddressError extends Error {
  override name = 'RefusedAddressError'
}

const SPECIAL_RANGES: ReadonlyArray<
  readonly [label: string, family: 'ipv4' | 'ipv6', cidrs: string[]]
> = [
  ['an unspecified address', 'ipv4', ['0.0.0.0/8']],
  ['a loopback address', 'ipv4', ['127.0.0.0/8']],
  ['a private address', 'ipv4', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['a link-local address', 'ipv4', ['169.254.0.0/16']],
  ['a carrier-grade NAT address', 'ipv4', ['100.64.0.0/10']],
  ['an IETF protocol address', 'ipv4', ['192.0.0.0/24']],
  ['a documentation address', 'ipv4', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']],
  ['a benchmarking address', 'ipv4', ['198.18.0.0/15']],
  ['a 6to4 relay address', 'ipv4', ['192.88.99.0/24']],
  ['a multicast address', 'ipv4', ['224.0.0.0/4']],
  ['a reserved address', 'ipv4', ['240.0.0.0/4']],
  ['an unspecified address', 'ipv6', ['::/128']],
  ['a loopback address', 'ipv6', ['::1/128']],
  ['an IPv4-compatible address', 'ipv6', ['::/96']],
  ['a link-local address', 'ipv6', ['fe80::/10']],
  ['a site-local address', 'ipv6', ['fec0::/10']],
  ['a unique-local address', 'ipv6', ['fc00::/7']],
  ['a multicast address', 'ipv6', ['ff00::/8']],
  ['a documentation address', 'ipv6', ['2001:db8::/32']],
  ['a discard-only address', 'ipv6', ['100::/64']],
  ['a local-use NAT64 address', 'ipv6', ['64:ff9b:1::/48']],
  ['an IPv6 transition address (Teredo, 6to4)', 'ipv6', ['2001::/32', '2002::/16']],
]

// Rules for IPv4 ranges also match their IPv4-mapped IPv6 forms (::ffff:10.0.0.5).
const SPECIAL_LISTS = SPECIAL_RANGES.map(([label, family, cidrs]) => {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/')
    list.addSubnet(network, Number(prefix), family)
  }
  return { label, list }
})

/** What kind of special address this is (`a private address`), or null for a public unicast one. */
export function specialAddressKind(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '')
  const version = isIP(bare)
  if (version === 0) return 'not an IP address'
  const family = version === 4 ? 'ipv4' : 'ipv6'
  return SPECIAL_LISTS.find(({ list }) => list.check(bare, family))?.label ?? null
}

/**
 * Why a connection to this IP address is refused (`10.0.0.5 is a private address`), or null when
 * it is a public unicast address.
 */
export function addressRefusal(address: string): string | null {
  const kind = specialAddressKind(address)
  return kind ? `${address} is ${kind}` : null
}

/** Checks a callback URL against the policy before any connection is made. Pure. */
export function checkRegistryCallbackUrl(rawUrl: string, policy: CallbackPolicy): UrlCheck {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    return { ok: false, reason: 'the callback URL is not an absolute URL' }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return { ok: false, reason: `callback URLs must use https, not ${url.protocol.slice(0, -1)}` }
  }
  if (url.protocol === 'http:' && !policy.allowHttp) {
    return {
      ok: false,
      reason: `callback URL ${url.host} uses http; set registry_callbacks.allow_http to allow plain http (trusted networks only)`,
    }
  }
  const host = bareHost(url.hostname)
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80))
  const listed = policy.allowedHosts.some((entry) => {
    const allowed = parseHostEntry(entry)
    return (
      allowed !== null && allowed.host === host && (allowed.port === null || allowed.port === port)
    )
  })
  if (!listed) {
    return {
      ok: false,
      reason: `callback host ${url.host} is not in registry_callbacks.allowed_hosts`,
    }
  }
  return { ok: true, url, listedAddress: isIP(host) !== 0 }
}

/**
 * A socket `lookup` that refuses host names resolving to anything but public addresses. It runs
 * inside the connection, so the address checked is the address connected to: a DNS answer that
 * changes between a check and the connection (DNS rebinding) cannot slip through.
 */
export function createPublicOnlyLookup(resolve: ResolveAll = resolveAll): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options.family ?? 0, (error, addresses) => {
      if (error) return callback(error, '', 0)
      for (const { address } of addresses) {
        const kind = specialAddressKind(address)
        if (kind) {
          const refusal = `refused: ${hostname} resolves to ${address}, which is ${kind}`
          return callback(new RefusedAddressError(refusal), '', 0)
        }
      }
      const [first] = addresses
      if (!first) return callback(new Error(`${hostname} resolved to no address`), '', 0)
      if (options.all) return callback(null, addresses)
      callback(null, first.address, first.family)
    })
  }
}

/** Every address of a host name (family 0: both). */
export type ResolveAll = (
  hostname: string,
  family: number | string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

const resolveAll: ResolveAll = (hostname, family, callback) =>
  dnsLookup(hostname, { family: familyNumber(family), all: true }, callback)

function familyNumber(family: number | string): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4
  if (family === 6 || family === 'IPv6') return 6
  return 0
}

/** `registry.example.com`, `registry.example.com:5000`, `[::1]:8443`, `::1` → host and port. */
function parseHostEntry(entry: string): { host: string; port: number | null } | null {
  const text = entry.trim()
  const parts =
    /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ??
    (isIP(text) === 6 ? [text, text] : /^([^:/\s[\]]+)(?::(\d+))?$/.exec(text))
  const host = parts?.[1] ? normaliseHost(parts[1]) : null
  if (!host) return null
  return { host, port: parts?.[2] ? Number(parts[2]) : null }
}

/** The host as WHATWG URL spells it (lower case, punycode, canonical IP forms), without brackets. */
function normaliseHost(host: string): string | null {
  try {
    return bareHost(new URL(`http://${isIP(host) === 6 ? `[${host}]` : host}/`).hostname)
  } catch {
    return null
  }
}

function bareHost(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '')
}
