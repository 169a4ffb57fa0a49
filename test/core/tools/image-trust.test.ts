import { describe, expect, test } from '@jest/globals'
import { parseCluster } from '../../../src/core/config/load.js'
import type { Cluster } from '../../../src/core/config/model.js'
import { checkImageDigests } from '../../../src/core/tools/image-trust.js'
import { BASE_K3S } from '../config/base.js'

const URL = 'https://dl.armbian.com/turing-rk1/Bookworm_vendor_minimal'
const k3s = (image: string): Cluster => {
  const r = parseCluster(BASE_K3S.replace('armbian_image: { path: armbian.img }', `armbian_image: ${image}`), 'c.yaml')
  if (!r.cluster) throw new Error(r.issues.map((i) => i.message).join('; '))
  return r.cluster
}

describe('checkImageDigests: a URL image needs a pin or a catalog entry before anything runs', () => {
  test('a deploy of an unpinned Armbian URL is refused, naming the field to set', () => {
    expect(checkImageDigests(k3s(`{ source: url, url: ${URL} }`), { command: 'deploy' })).toEqual([
      {
        code: 'ImageUnverified',
        path: 'armbian_image.url',
        severity: 'error',
        message: `armbian_image.url: ${URL} is downloaded by URL, but nothing vouches for its bytes: set armbian_image.sha256 to the image's sha256 (its publisher's checksum, e.g. the .sha256 file beside it)`
      }
    ])
  })

  test('a plan only warns; drift and a deploy without the flash phase do not care', () => {
    expect(checkImageDigests(k3s(`{ source: url, url: ${URL} }`), { command: 'plan' })).toMatchObject([
      { severity: 'warning' }
    ])
    expect(checkImageDigests(k3s(`{ source: url, url: ${URL} }`), { command: 'drift' })).toEqual([])
    expect(checkImageDigests(k3s(`{ source: url, url: ${URL} }`), { command: 'deploy', phases: ['addons'] })).toEqual(
      []
    )
  })

  test('a sha256 pin, a catalog entry or a local path is enough', () => {
    expect(
      checkImageDigests(k3s(`{ source: url, url: ${URL}, sha256: ${'a'.repeat(64)} }`), { command: 'deploy' })
    ).toEqual([])
    expect(
      checkImageDigests(k3s(`{ source: url, url: ${URL} }`), {
        command: 'deploy',
        digestCatalog: { [URL]: { sha256: 'b'.repeat(64), source: 'test' } }
      })
    ).toEqual([])
    expect(
      checkImageDigests(k3s(`{ source: url, url: ${URL} }`), {
        command: 'deploy',
        digestCatalog: { [URL]: { source: 'listed without a digest' } }
      })
    ).toHaveLength(1)
    expect(checkImageDigests(k3s('{ path: armbian.img }'), { command: 'deploy' })).toEqual([])
  })
})
