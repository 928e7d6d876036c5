import type { LookupAddress } from 'node:dns'
import { describe, expect, it } from 'vitest'
import {
  addressRefusal,
  checkRegistryCallbackUrl,
  createPublicOnlyLookup,
  RefusedAddressError,
  type ResolveAll,
} from '../../../src/relay/deliverers/outbound-address.js'

describe('addressRefusal', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['10.0.0.5', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['169.254.169.254', 'a link-local address'],
    ['100.64.0.1', 'a carrier-grade NAT address'],
    ['100.127.255.254', 'a carrier-grade NAT address'],
    ['0.0.0.0', 'an unspecified address'],
    ['0.1.2.3', 'an unspecified address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a reserved address'],
    ['192.0.2.10', 'a documentation address'],
    ['::', 'an unspecified address'],
    ['::1', 'a loopback address'],
    ['fe80::1', 'a link-local address'],
    ['fd12:3456::1', 'a unique-local address'],
    ['fc00::1', 'a unique-local address'],
    ['ff02::1', 'a multicast address'],
    ['::ffff:10.0.0.5', 'a private address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['::ffff:169.254.169.254', 'a link-local address'],
    ['2002:a00:1::1', 'an IPv6 transition address (Teredo, 6to4)'],
  ])('refuses %s as %s', (address, label) => {
    expect(addressRefusal(address)).toBe(`${address} is ${label}`)
  })

  it.each([
    '8.8.8.8',
    '172.32.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '52.1.2.3',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
  ])('lets public %s pass', (address) => {
    expect(addressRefusal(address)).toBeNull()
  })
})

describe('checkRegistryCallbackUrl', () => {
  const hub = { allowedHosts: ['registry.hub.docker.com'], allowHttp: false }

  it('allows an https URL on a listed host, in any case', () => {
    const check = checkRegistryCallbackUrl(
      'https://Registry.Hub.Docker.com/u/acme/app/hook/1/',
      hub,
    )

    expect(check).toMatchObject({ ok: true, listedAddress: false })
  })

  it.each([
    [
      'https://registry.evil.com/hook',
      'callback host registry.evil.com is not in registry_callbacks.allowed_hosts',
    ],
    [
      'https://hub.docker.com.evil.com/hook',
      'callback host hub.docker.com.evil.com is not in registry_callbacks.allowed_hosts',
    ],
    [
      'https://evil.registry.hub.docker.com/hook',
      'callback host evil.registry.hub.docker.com is not in registry_callbacks.allowed_hosts',
    ],
    [
      'http://registry.hub.docker.com/hook',
      'callback URL registry.hub.docker.com uses http; set registry_callbacks.allow_http to allow plain http (trusted networks only)',
    ],
    ['file:///etc/passwd', 'callback URLs must use https, not file'],
    ['not a url', 'the callback URL is not an absolute URL'],
  ])('refuses %s', (url, reason) => {
    expect(checkRegistryCallbackUrl(url, hub)).toEqual({ ok: false, reason })
  })

  it('matches ports when the entry names one, and the default port counts', () => {
    const policy = {
      allowedHosts: ['registry.example.com:5000', 'other.example.com:443'],
      allowHttp: false,
    }

    expect(checkRegistryCallbackUrl('https://registry.example.com:5000/cb', policy).ok).toBe(true)
    expect(checkRegistryCallbackUrl('https://registry.example.com/cb', policy).ok).toBe(false)
    expect(checkRegistryCallbackUrl('https://other.example.com/cb', policy).ok).toBe(true)
  })

  it('treats a listed IP literal as explicitly allowed, in any spelling', () => {
    const policy = { allowedHosts: ['127.0.0.1', '[::1]:8443'], allowHttp: true }

    expect(checkRegistryCallbackUrl('http://127.0.0.1:9999/cb', policy)).toMatchObject({
      ok: true,
      listedAddress: true,
    })
    expect(checkRegistryCallbackUrl('https://[0:0:0:0:0:0:0:1]:8443/cb', policy)).toMatchObject({
      ok: true,
      listedAddress: true,
    })
    expect(checkRegistryCallbackUrl('http://127.0.0.2/cb', policy).ok).toBe(false)
  })
})

describe('createPublicOnlyLookup', () => {
  const resolving =
    (...addresses: LookupAddress[]): ResolveAll =>
    (_host, _family, callback) =>
      callback(null, addresses)

  function lookUp(resolve: ResolveAll, all: boolean) {
    return new Promise<{ error: Error | null; result: unknown }>((done) => {
      createPublicOnlyLookup(resolve)('registry.example.com', { all }, (error, address, family) =>
        done({ error, result: all ? address : [address, family] }),
      )
    })
  }

  it('hands over public addresses, one or all as the socket asks', async () => {
    const resolve = resolving(
      { address: '52.1.2.3', family: 4 },
      { address: '2606:4700::1', family: 6 },
    )

    expect(await lookUp(resolve, false)).toEqual({ error: null, result: ['52.1.2.3', 4] })
    expect(await lookUp(resolve, true)).toEqual({
      error: null,
      result: [
        { address: '52.1.2.3', family: 4 },
        { address: '2606:4700::1', family: 6 },
      ],
    })
  })

  it('refuses the host when any address it resolves to is not public', async () => {
    const { error } = await lookUp(
      resolving({ address: '52.1.2.3', family: 4 }, { address: '10.0.0.5', family: 4 }),
      true,
    )

    expect(error).toBeInstanceOf(RefusedAddressError)
    expect(error?.message).toBe(
      'refused: registry.example.com resolves to 10.0.0.5, which is a private address',
    )
  })

  it('passes resolver errors on', async () => {
    const failing: ResolveAll = (_host, _family, callback) =>
      callback(
        Object.assign(new Error('getaddrinfo ENOTFOUND registry.example.com'), {
          code: 'ENOTFOUND',
        }),
        [],
      )

    const { error } = await lookUp(failing, false)

    expect(error?.message).toBe('getaddrinfo ENOTFOUND registry.example.com')
  })
})
