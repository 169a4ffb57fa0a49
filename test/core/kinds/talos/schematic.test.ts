import { describe, expect, test } from '@jest/globals'
import {
  buildSchematic,
  installerImage,
  marshalSchematic,
  schematicId
} from '../../../../src/core/kinds/talos/schematic.js'
import { talosCluster } from './fixtures.js'

describe('Image Factory schematic', () => {
  test('the bare turingrk1 overlay hashes to the id the public factory gives it (df156b82…)', () => {
    const { schematic, addedForLonghorn } = buildSchematic(talosCluster())
    const yaml = marshalSchematic(schematic)
    expect(yaml).toBe('overlay:\n    image: siderolabs/sbc-rockchip\n    name: turingrk1\ncustomization: {}\n')
    expect(schematicId(yaml)).toBe('df156b82096feda49406ac03aa44e0ace524b7efe4e1f0e144a1e1ae3930f1c0')
    expect(addedForLonghorn).toEqual([])
  })

  test('the empty schematic is the factory default 376567988a…', () => {
    expect(schematicId(marshalSchematic({ extensions: [] }))).toBe(
      '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'
    )
  })

  test('extensions are written as yaml.v3 does: published ids for two extension lists match', () => {
    expect(
      schematicId(marshalSchematic({ extensions: ['siderolabs/iscsi-tools', 'siderolabs/qemu-guest-agent'] }))
    ).toBe('dc7b152cb3ea99b821fcb7340ce7168313ce393d663740b791c36f6e95fc8586')
    expect(
      schematicId(
        marshalSchematic({
          extensions: ['siderolabs/iscsi-tools', 'siderolabs/tailscale', 'siderolabs/util-linux-tools']
        })
      )
    ).toBe('708747e350d604ae9e57227d8dcf274091453ddb1097b765d4ea8884f1992c1f')
  })

  test('Longhorn on adds iscsi-tools and util-linux-tools and says which it added', () => {
    const plan = buildSchematic(
      talosCluster('longhorn_enabled: true\nimage_factory: { extensions: [siderolabs/util-linux-tools] }')
    )
    expect(plan.addedForLonghorn).toEqual(['siderolabs/iscsi-tools'])
    expect(marshalSchematic(plan.schematic)).toBe(
      'overlay:\n    image: siderolabs/sbc-rockchip\n    name: turingrk1\ncustomization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n'
    )
  })

  test('extension order in the file does not change the id', () => {
    const a = buildSchematic(talosCluster('image_factory: { extensions: [siderolabs/b, siderolabs/a] }'))
    const b = buildSchematic(talosCluster('image_factory: { extensions: [siderolabs/a, siderolabs/b] }'))
    expect(marshalSchematic(a.schematic)).toBe(marshalSchematic(b.schematic))
  })

  test('refuses a name yaml.v3 would quote, naming it', () => {
    expect(() => marshalSchematic({ extensions: ['yes'] })).toThrow('extension "yes" cannot be sent')
  })

  test('installer image is the factory metal-installer of the schematic and version', () => {
    expect(installerImage('ab'.repeat(32), 'v1.9.0')).toBe(
      `factory.talos.dev/metal-installer/${'ab'.repeat(32)}:v1.9.0`
    )
  })
})
