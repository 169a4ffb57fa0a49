import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RemoteShell } from '../../../../../src/adapters/ssh/types.js'
import { parseResult } from '../../../../../src/core/remote/script.js'
import { nvmeScript } from '../../../../../src/core/kinds/k3s/os-bootstrap/nvme-script.js'
import { k3sCluster } from '../fixtures.js'
import { startHarness, type Harness } from '../harness.js'

// A loop device stands in for the NVMe drive; the script runs on a harness node with real blkid,
// wipefs, mkfs.ext4 and mount (the mount lives only as long as the script's mount namespace).
const cluster = k3sCluster('', 'control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }')
let lab: Harness
let shell: RemoteShell
let dir: string
let device: string

beforeAll(async () => {
  lab = startHarness(cluster.nodes)
  shell = await lab.shell('k3s-cp')
  dir = mkdtempSync(join(tmpdir(), 'tpi-nvme-'))
  writeFileSync(join(dir, 'nvme.img'), '')
  truncateSync(join(dir, 'nvme.img'), 32 * 1024 * 1024)
  device = execFileSync('losetup', ['-f', '--show', join(dir, 'nvme.img')], { encoding: 'utf8' }).trim()
})
afterAll(() => {
  if (device) execFileSync('losetup', ['-d', device])
  rmSync(dir, { recursive: true, force: true })
  lab.stop()
})

const run = (allowFormat = false) => shell.exec(nvmeScript({ device, mount: '/var/lib/longhorn', allowFormat }))

describe('nvme script on a loop device', () => {
  test('formats a blank device, mounts it by UUID via fstab, and keeps the data on the next run', async () => {
    const first = await run()
    expect(first.code).toBe(0)
    expect(parseResult(first.stdout)?.details).toBe(`mkfs=${device} fstab=/var/lib/longhorn mounted=/var/lib/longhorn`)
    const uuid = execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { encoding: 'utf8' }).trim()
    expect(lab.file('k3s-cp', 'etc/fstab')).toBe(
      `UUID=abcd / ext4 defaults 0 1\nUUID=${uuid} /var/lib/longhorn ext4 defaults,nofail 0 2\n`
    )
    const second = await run()
    // No mkfs and no fstab edit; only the mount is repeated because each harness exec has its own namespace.
    expect(parseResult(second.stdout)?.details).toBe('mounted=/var/lib/longhorn')
    expect(execFileSync('blkid', ['-p', '-s', 'UUID', '-o', 'value', device], { encoding: 'utf8' }).trim()).toBe(uuid)
  })

  test('refuses a device that holds something else, and erases it only with nvme_format', async () => {
    execFileSync('wipefs', ['-a', '-q', device])
    execFileSync('sfdisk', ['-q', device], { input: 'label: gpt\n,,L\n' })
    const refused = await run()
    expect(refused.code).toBe(4)
    expect(refused.stderr).toMatch(
      new RegExp(
        `^refusing to format ${device}: it holds data \\(filesystem: none, signatures: gpt .*\\); set nvme_format: true on this node to erase it\\n$`
      )
    )
    const erased = await run(true)
    expect(erased.code).toBe(0)
    expect(parseResult(erased.stdout)?.details).toMatch(
      new RegExp(`^reformatted=${device}\\(nvme_format\\) fstab=/var/lib/longhorn mounted=/var/lib/longhorn$`)
    )
  })

  test('names a missing device', async () => {
    const out = await shell.exec(nvmeScript({ device: '/dev/nvme9n9', mount: '/var/lib/longhorn', allowFormat: false }))
    expect(out.code).toBe(3)
    expect(out.stderr).toMatch(/^NVMe device \/dev\/nvme9n9 not found \(has_nvme: true\)/)
  })
})
