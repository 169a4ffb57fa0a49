import { describe, expect, test } from '@jest/globals'
import {
  addressPatch,
  clusterPatch,
  controlPlanePatch,
  generatedPatches,
  hostnamePatch,
  longhornPatch,
  userPatchFiles
} from '../../../../src/core/kinds/talos/patches.js'
import { talosCluster } from './fixtures.js'

const cluster = talosCluster(
  'longhorn_enabled: true\npatches: { all: [p/all.yaml], controlplane: [p/cp.yaml], worker: [p/w.yaml] }'
)
const cp = cluster.nodes[0]
const w1 = cluster.nodes[1]

describe('generated machine config patches', () => {
  test('hostname is the v1alpha1 field before Talos 1.12', () => {
    expect(hostnamePatch('v1.9.0', 'talos-cp')).toBe('machine:\n  network:\n    hostname: talos-cp\n')
    expect(hostnamePatch('v1.11.5', 'talos-cp')).toBe('machine:\n  network:\n    hostname: talos-cp\n')
  })

  test('hostname is a HostnameConfig document with auto off from Talos 1.12', () => {
    expect(hostnamePatch('v1.12.0', 'talos-cp')).toBe(
      'apiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\nhostname: talos-cp\n'
    )
  })

  test('static address on the physical NIC with the gateway as route and resolver', () => {
    expect(addressPatch(cluster, w1)).toBe(
      [
        'machine:',
        '  network:',
        '    nameservers:',
        '      - 10.10.88.1',
        '    interfaces:',
        '      - deviceSelector:',
        '          physical: true',
        '        dhcp: false',
        '        addresses:',
        '          - 10.10.88.74/24',
        '        routes:',
        '          - network: 0.0.0.0/0',
        '            gateway: 10.10.88.1',
        ''
      ].join('\n')
    )
  })

  test('pod and service CIDRs, and scheduling on control planes', () => {
    expect(clusterPatch(cluster).yaml).toBe(
      'cluster:\n  network:\n    podSubnets:\n      - 10.244.0.0/16\n    serviceSubnets:\n      - 10.96.0.0/12\n'
    )
    expect(controlPlanePatch(cluster).yaml).toBe('cluster:\n  allowSchedulingOnControlPlanes: true\n')
  })

  test('Longhorn before 1.10: a machine.disks partition at /var/mnt/longhorn and the kubelet bind mount', () => {
    expect(longhornPatch('v1.9.0', w1)).toBe(
      [
        'machine:',
        '  disks:',
        '    - device: /dev/nvme0n1',
        '      partitions:',
        '        - mountpoint: /var/mnt/longhorn',
        '  kubelet:',
        '    extraMounts:',
        '      - destination: /var/mnt/longhorn',
        '        type: bind',
        '        source: /var/mnt/longhorn',
        '        options:',
        '          - bind',
        '          - rshared',
        '          - rw',
        ''
      ].join('\n')
    )
  })

  test('Longhorn from 1.10: a UserVolumeConfig named longhorn on the NVMe', () => {
    expect(longhornPatch('v1.10.0', w1).split('---\n')[1]).toBe(
      "apiVersion: v1alpha1\nkind: UserVolumeConfig\nname: longhorn\nprovisioning:\n  diskSelector:\n    match: disk.dev_path == '/dev/nvme0n1'\n  minSize: 10GiB\n  grow: true\n"
    )
  })

  test('a control plane without NVMe gets cluster, role, hostname and address; a worker with NVMe also Longhorn and labels', () => {
    expect(generatedPatches(cluster, cp).map((p) => p.name)).toEqual([
      'cluster',
      'controlplane',
      'node-talos-cp-1',
      'node-talos-cp-2'
    ])
    const names = generatedPatches(cluster, w1).map((p) => p.name)
    expect(names).toEqual(['cluster', 'node-talos-w1-1', 'node-talos-w1-2', 'node-talos-w1-3', 'node-talos-w1-4'])
    expect(generatedPatches(cluster, w1)[4]?.yaml).toBe('machine:\n  nodeLabels:\n    zone: b\n')
  })

  test('user patches apply all, then role, then node', () => {
    const c = talosCluster(
      'patches: { all: [a.yaml], worker: [w.yaml], controlplane: [c.yaml] }',
      `control_plane: { node: 1, ip: 10.10.88.73, hostname: cp, patches: [cp-own.yaml] }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1, patches: [w1-own.yaml] }`
    )
    expect(userPatchFiles(c, c.nodes[0])).toEqual(['a.yaml', 'c.yaml', 'cp-own.yaml'])
    expect(userPatchFiles(c, c.nodes[1])).toEqual(['a.yaml', 'w.yaml', 'w1-own.yaml'])
  })
})
