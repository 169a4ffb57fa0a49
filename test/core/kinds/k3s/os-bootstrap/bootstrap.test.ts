import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { osBootstrapPhase } from '../../../../../src/core/kinds/k3s/os-bootstrap/index.js'
import { phaseContext } from '../context.js'
import { k3sCluster } from '../fixtures.js'
import { startHarness, type Harness } from '../harness.js'

const cluster = k3sCluster('', 'control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }')
let lab: Harness

beforeAll(() => {
  lab = startHarness(cluster.nodes)
  // The image has swap on zram and already ships curl.
  const root = lab.nodes.get('k3s-cp')!.root
  writeFileSync(join(root, 'etc/lab-swap'), '')
  mkdirSync(join(root, 'etc/default'), { recursive: true })
  writeFileSync(join(root, 'etc/default/armbian-zram-config'), '# zram\nSWAP=true\n', { flag: 'w' })
})
afterAll(() => lab.stop())

describe('os-bootstrap on a lab node', () => {
  test('first run sets hostname, packages, modules, sysctl, swap and time sync; the rerun changes nothing', async () => {
    const ctx = await phaseContext(cluster, lab.deps)
    const first = await osBootstrapPhase.runNode!(ctx, cluster.nodes[0])
    expect(first.changed).toBe(true)
    expect(first.summary).toContain('hostname (hostname=k3s-cp hosts)')
    expect(first.summary).toContain(
      'packages (installed=open-iscsi,nfs-common,curl,util-linux,ca-certificates,systemd-timesyncd iscsid=enabled)'
    )
    expect(first.summary).toContain('kernel modules and sysctl (modules-load modprobe=')
    expect(first.summary).toContain('swap (swapoff zram-swap)')
    expect(first.summary).toContain('time sync (timesyncd)')
    expect(lab.file('k3s-cp', 'etc/hostname')).toBe('k3s-cp\n')
    expect(lab.file('k3s-cp', 'etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tk3s-cp\n')
    expect(lab.file('k3s-cp', 'etc/sysctl.d/90-tpi-k3s.conf')).toContain('net.bridge.bridge-nf-call-iptables = 1\n')
    expect(lab.file('k3s-cp', 'etc/default/armbian-zram-config')).toBe('# zram\nSWAP=false\n')
    expect(lab.calls('k3s-cp', 'apt-get').map((c) => c.args.join(' '))).toEqual([
      '-q update',
      '-q -y --no-install-recommends install open-iscsi nfs-common curl util-linux ca-certificates systemd-timesyncd'
    ])
    expect(lab.calls('k3s-cp', 'modprobe').map((c) => c.args[0])).toEqual(
      expect.arrayContaining(['br_netfilter', 'iscsi_tcp'])
    )

    const again = await osBootstrapPhase.runNode!(
      await phaseContext(cluster, lab.deps, ctx.settings.stateDir),
      cluster.nodes[0]
    )
    expect(again).toEqual({ changed: false, summary: 'already bootstrapped' })
    expect(lab.calls('k3s-cp', 'apt-get')).toHaveLength(2)
  })

  test('with a mirror, apt reads a rewritten copy of the sources and the node keeps its own', async () => {
    const root = lab.nodes.get('k3s-cp')!.root
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true })
    writeFileSync(
      join(root, 'etc/apt/sources.list.d/debian.sources'),
      'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\n'
    )
    writeFileSync(join(root, 'var/lib/dpkg/lab-installed'), 'curl\n')
    const ctx = await phaseContext(cluster, lab.deps)
    ctx.settings.mirror = 'http://127.0.0.1:9/mirror/'
    await osBootstrapPhase.runNode!(ctx, cluster.nodes[0])
    const update = lab.calls('k3s-cp', 'apt-get').at(-2)!
    expect(update.args.slice(0, 4)).toEqual([
      '-o',
      expect.stringMatching(/^Dir::Etc::sourcelist=\/tmp\/.+\/sources.list$/),
      '-o',
      expect.stringMatching(/^Dir::Etc::sourceparts=\/tmp\/.+\/parts$/)
    ])
    expect(lab.file('k3s-cp', 'var/log/lab-apt-sources.log')).toContain(
      'URIs: http://127.0.0.1:9/mirror/deb.debian.org/debian\n'
    )
    expect(lab.file('k3s-cp', 'etc/apt/sources.list.d/debian.sources')).toContain(
      'URIs: http://deb.debian.org/debian\n'
    )
  })
})
