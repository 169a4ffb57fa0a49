import { describe, expect, test } from '@jest/globals'
import { applyPatch, lineDiff, needsReboot, splitConfig, validateConfig } from '../../../lab/talos/lib/index.mjs'

const base = `version: v1alpha1
machine:
  type: worker
  install: { disk: /dev/sda }
  network:
    interfaces:
      - interface: end0
        addresses: [10.0.0.2/24]
  kubelet: { extraMounts: [] }
cluster:
  controlPlane: { endpoint: https://10.0.0.1:6443 }
  network: { podSubnets: [10.244.0.0/16], serviceSubnets: [10.96.0.0/12] }
`

describe('lab config patches (talosctl --config-patch semantics)', () => {
  test('strategic merge: maps merge, scalars replace, lists append', () => {
    const out = applyPatch(
      splitConfig(base),
      'machine:\n  install: { disk: /dev/mmcblk0 }\n  kubelet: { extraMounts: [{ destination: /var/mnt/longhorn }] }\n  nodeLabels: { zone: b }\n'
    )
    expect(out.main?.machine.install).toEqual({ disk: '/dev/mmcblk0' })
    expect(out.main?.machine.kubelet.extraMounts).toEqual([{ destination: '/var/mnt/longhorn' }])
    expect(out.main?.machine.nodeLabels).toEqual({ zone: 'b' })
    expect(out.main?.machine.type).toBe('worker')
  })

  test('network interfaces merge by interface name instead of appending', () => {
    const out = applyPatch(
      splitConfig(base),
      'machine:\n  network:\n    interfaces:\n      - interface: end0\n        dhcp: false\n      - interface: end1\n        dhcp: true\n'
    )
    expect(out.main?.machine.network.interfaces).toEqual([
      { interface: 'end0', addresses: ['10.0.0.2/24'], dhcp: false },
      { interface: 'end1', dhcp: true }
    ])
  })

  test('$patch: delete removes a map', () => {
    const out = applyPatch(splitConfig(base), 'machine:\n  kubelet:\n    $patch: delete\n')
    expect(out.main?.machine.kubelet).toBeUndefined()
  })

  test('JSON 6902: add, replace, remove, append with -', () => {
    const ops = `- op: replace
  path: /machine/type
  value: controlplane
- op: add
  path: /machine/network/interfaces/0/addresses/-
  value: 10.0.0.3/24
- op: remove
  path: /cluster/network/serviceSubnets
- op: add
  path: /machine/sysctls
  value: { vm.max_map_count: "262144" }
`
    const out = applyPatch(splitConfig(base), ops)
    expect(out.main?.machine.type).toBe('controlplane')
    expect(out.main?.machine.network.interfaces[0].addresses).toEqual(['10.0.0.2/24', '10.0.0.3/24'])
    expect(out.main?.cluster.network.serviceSubnets).toBeUndefined()
    expect(out.main?.machine.sysctls).toEqual({ 'vm.max_map_count': '262144' })
  })

  test('JSON 6902 replace of a missing path fails naming the path', () => {
    expect(() => applyPatch(splitConfig(base), '- op: replace\n  path: /machine/nope\n  value: 1\n')).toThrow(
      'JSON patch replace /machine/nope: nothing to replace'
    )
  })

  test('typed documents are added, then replaced by kind and name', () => {
    let out = applyPatch(splitConfig(base), 'apiVersion: v1alpha1\nkind: HostnameConfig\nauto: off\nhostname: a\n')
    out = applyPatch(
      out,
      'apiVersion: v1alpha1\nkind: HostnameConfig\nhostname: b\n---\nmachine:\n  nodeLabels: { x: y }\n'
    )
    expect(out.typed).toEqual([{ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname: 'b' }])
    expect(out.main?.machine.nodeLabels).toEqual({ x: 'y' })
  })
})

describe('lab apply semantics', () => {
  test('network and kubelet changes apply live; type, env or disks need a reboot', () => {
    expect(needsReboot(base, base.replace('10.0.0.2/24', '10.0.0.9/24'))).toBe(false)
    expect(needsReboot(base, base.replace('type: worker', 'type: controlplane'))).toBe(true)
    expect(needsReboot(base, base.replace('  kubelet:', '  env: { A: b }\n  kubelet:'))).toBe(true)
  })

  test('the diff is empty for a reformatted identical config and shows changed lines otherwise', () => {
    expect(lineDiff(base, base.replace('install: { disk: /dev/sda }', 'install:\n    disk: /dev/sda'))).toBe('')
    expect(lineDiff(base, base.replace('/dev/sda', '/dev/mmcblk0'))).toContain(
      '-        disk: /dev/sda\n+        disk: /dev/mmcblk0'
    )
  })

  test('validate --mode metal names each problem', () => {
    expect(validateConfig(base, 'metal')).toEqual([])
    expect(
      validateConfig(base.replace('  install: { disk: /dev/sda }\n', '').replace('https://', 'http://'), 'metal')
    ).toEqual([
      'an install disk or disk selector is required in "metal" mode',
      'invalid controlplane endpoint: "http://10.0.0.1:6443"'
    ])
  })
})
