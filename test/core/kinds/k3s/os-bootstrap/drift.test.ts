import { describe, expect, test } from '@jest/globals'
import { osObserveScript, osRows, wantedOs } from '../../../../../src/core/kinds/k3s/os-bootstrap/drift.js'
import { k3sCluster } from '../fixtures.js'
import { shellcheck } from '../shellcheck.js'

const NPU = 'npu_config: { install_rknn: true }'
const rk1 = {
  board: 'turing-rk1',
  version: '25.8.1',
  release: 'bookworm',
  branch: 'vendor',
  pretty: 'Armbian 25.8.1 bookworm',
  kernel: '6.1.115-vendor-rk35xx'
}

describe('the OS a K3s node should run', () => {
  test('comes from the image name: release and kernel branch of the Armbian download', () => {
    const at = (url: string) => wantedOs({ ...k3sCluster(), armbian_image: { source: 'url', url } })
    expect(at('https://dl.armbian.com/turing-rk1/Bookworm_vendor_minimal')).toEqual({
      release: 'bookworm',
      branch: 'vendor',
      because: 'armbian_image'
    })
    expect(at('https://example.org/Armbian_25.11.1_Turing-rk1_noble_current_6.12.8.img.xz')).toEqual({
      release: 'noble',
      branch: 'current',
      because: 'armbian_image'
    })
    expect(wantedOs(k3sCluster())).toEqual({})
  })

  test('is on the vendor kernel wherever the NPU stack is wanted, whatever the image name says', () => {
    const cluster = k3sCluster(NPU)
    expect(
      wantedOs({
        ...cluster,
        armbian_image: { source: 'url', url: 'https://example.org/Armbian_Turing-rk1_trixie_current.img' }
      })
    ).toEqual({
      release: 'trixie',
      branch: 'vendor',
      because: 'npu_config: the RKNPU driver is only in the vendor kernel'
    })
  })
})

describe('OS drift rows of a node', () => {
  const cluster = { ...k3sCluster(NPU), name: 'production' }
  const withImage = {
    ...cluster,
    armbian_image: { source: 'url' as const, url: 'https://dl.armbian.com/turing-rk1/Bookworm_vendor_minimal' }
  }
  const node = cluster.nodes[1]!
  const howTo = '(reflash with reflash: true, confirm: production, nodes: k3s-w1)'

  test('none for the Armbian the file names', () => {
    expect(osRows(withImage, node, rk1)).toEqual([])
  })

  test('another release is one row on armbian_image, fixed only by reflashing the node', () => {
    expect(osRows(withImage, node, { ...rk1, release: 'trixie', version: '25.11.1' })).toEqual([
      {
        subject: 'k3s-w1',
        field: 'os.release',
        wanted: 'bookworm',
        found: `trixie (Armbian 25.11.1) ${howTo}`,
        kind: 'drift',
        fixedBy: ['flash', 'boot', 'os-bootstrap', 'join'],
        path: ['armbian_image']
      }
    ])
  })

  test('a mainline kernel where the NPU is wanted names the kernel and why the vendor one is needed', () => {
    expect(osRows(cluster, node, { ...rk1, branch: 'current', kernel: '6.12.8-current-rockchip64' })).toEqual([
      expect.objectContaining({
        field: 'os.kernel',
        wanted: 'vendor kernel (npu_config: the RKNPU driver is only in the vendor kernel)',
        found: `current kernel 6.12.8-current-rockchip64 ${howTo}`
      })
    ])
  })

  test('a node that is not Armbian for the RK1 is one row, whatever else differs', () => {
    expect(
      osRows(withImage, node, {
        ...rk1,
        board: 'none',
        release: 'none',
        branch: 'none',
        pretty: 'Ubuntu 22.04.4 LTS'
      }).map((r) => [r.field, r.wanted, r.found])
    ).toEqual([['os', 'Armbian for turing-rk1', `Ubuntu 22.04.4 LTS, not Armbian ${howTo}`]])
  })

  test('the observation script is shellcheck-clean', () => {
    expect(shellcheck(osObserveScript())).toBe('')
  })
})
