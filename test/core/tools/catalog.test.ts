import { describe, expect, test } from '@jest/globals'
import {
  cacheVersion,
  helm,
  imageByUrl,
  k3sAirgap,
  k3sBinary,
  kubectl,
  talosctl,
  talosImage,
  viaMirror
} from '../../../src/core/tools/catalog.js'

describe('catalog', () => {
  test('mirror URL is <mirror>/<upstream host><upstream path>', () => {
    expect(viaMirror('https://dl.k8s.io/release/v1.31.0/bin/linux/arm64/kubectl', 'http://127.0.0.1:9/m/')).toBe(
      'http://127.0.0.1:9/m/dl.k8s.io/release/v1.31.0/bin/linux/arm64/kubectl'
    )
    expect(viaMirror('https://get.helm.sh/x', undefined)).toBe('https://get.helm.sh/x')
  })

  test('k3s build metadata survives as a prerelease (semver.clean would drop +k3s1)', () => {
    expect(cacheVersion('v1.31.3+k3s1')).toBe('1.31.3-k3s1')
    expect(cacheVersion('v1.9.0')).toBe('1.9.0')
    expect(() => cacheVersion('latest')).toThrow('not semver')
  })

  test('talos image from the factory keyed by version and schematic', () => {
    const s = 'c'.repeat(64)
    const r = talosImage(s, 'v1.9.0')
    expect(r.url).toBe(`https://factory.talos.dev/image/${s}/v1.9.0/metal-arm64.raw.xz`)
    expect(r.version).toBe(`1.9.0-s${s}`)
    expect(r.fileName).toBe('metal-arm64.raw.xz')
  })

  test('k3s binary and air-gap images checked against sha256sum-arm64.txt', () => {
    const b = k3sBinary('v1.31.3+k3s1')
    expect(b.url).toBe('https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64')
    expect(b.checksum).toEqual({
      sumsUrl: 'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/sha256sum-arm64.txt',
      sumsEntry: 'k3s-arm64'
    })
    expect(k3sAirgap('v1.31.3+k3s1').fileName).toBe('k3s-airgap-images-arm64.tar.zst')
  })

  test('runner tools use Go arch names and their upstream checksum files', () => {
    expect(talosctl('v1.9.0', 'x64').checksum).toEqual({
      sumsUrl: 'https://github.com/siderolabs/talos/releases/download/v1.9.0/sha256sum.txt',
      sumsEntry: 'talosctl-linux-amd64'
    })
    expect(kubectl('1.31.0', 'x64').checksum?.sumsUrl).toBe(
      'https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl.sha256'
    )
    expect(helm('v3.16.3', 'arm64').checksum?.sumsUrl).toBe(
      'https://get.helm.sh/helm-v3.16.3-linux-arm64.tar.gz.sha256sum'
    )
  })

  test('an image by URL is keyed by its pin', () => {
    const r = imageByUrl('https://example.org/Armbian_25.2_Turing-rk1.img.xz', undefined, 'AB'.repeat(32))
    expect(r.version).toBe('0.0.0-habababababababab')
    expect(r.fileName).toBe('Armbian_25.2_Turing-rk1.img.xz')
  })
})
