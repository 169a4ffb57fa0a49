import { describe, expect, it } from '@jest/globals'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { loadClusterFile, parseCluster } from '../../../src/core/config/load.js'
import { BASE_K3S, BASE_TALOS, withLine } from './base.js'

const errorsOf = (text: string) => parseCluster(text, 'c.yaml').issues.filter((i) => i.severity === 'error')

describe('loading the cluster file', () => {
  it('accepts the base file and fills the defaults of the plan', () => {
    const { cluster, issues } = parseCluster(BASE_K3S, 'c.yaml')
    expect(issues).toEqual([])
    expect(cluster).toMatchObject({
      k3s_version: 'v1.31.3+k3s1',
      pod_cidr: '10.244.0.0/16',
      service_cidr: '10.96.0.0/12',
      cluster_dns: '10.96.0.10',
      flannel_backend: 'vxlan',
      longhorn_replicas: 2,
      longhorn_path: '/var/lib/longhorn',
      boot_timeout: 300,
      cluster_timeout: 600,
      flash_timeout: 1200,
      apiEndpoint: 'https://10.10.88.73:6443',
      network: { prefix: 24, gateway: '10.10.88.1' }
    })
  })

  it('flattens control plane then workers into nodes on the single default board', () => {
    const { cluster } = parseCluster(BASE_K3S, 'c.yaml')
    expect(cluster!.nodes.map((n) => [n.id, n.role, n.board, n.slot])).toEqual([
      ['cp', 'controlplane', 'default', 1],
      ['w1', 'worker', 'default', 2],
      ['w2', 'worker', 'default', 3]
    ])
    expect(cluster!.nodes[1].path).toEqual(['workers', 0])
  })

  it('accepts a list of control planes for HA', () => {
    const text = withLine(
      BASE_K3S,
      'control_plane:',
      'control_plane:\n  - { node: 1, ip: 10.10.88.73, hostname: cp }\n  - { node: 4, ip: 10.10.88.76, hostname: cp2 }\n  - { node: 3, ip: 10.10.88.77, hostname: cp3, board: default }'
    ).replace('  - { node: 3, ip: 10.10.88.75, hostname: w2, has_nvme: true }\n', '')
    const { cluster, issues } = parseCluster(text, 'c.yaml')
    expect(issues).toEqual([])
    expect(cluster!.nodes.filter((n) => n.role === 'controlplane').map((n) => n.path)).toEqual([
      ['control_plane', 0],
      ['control_plane', 1],
      ['control_plane', 2]
    ])
  })

  it('merges the plan top-level NPU shorthands into npu_config', () => {
    const { cluster } = parseCluster(BASE_K3S + 'install_rknn: true\ndeploy_rkllama: true\n', 'c.yaml')
    expect(cluster!.npu).toMatchObject({ install_rknn: true, deploy_rkllama: true, rknn_version: '2.3.2' })
  })

  it('validates every example in examples/', async () => {
    const dir = join(process.cwd(), 'examples')
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(3)
    for (const f of files) {
      const result = await loadClusterFile(join(dir, f))
      expect({ f, errors: result.issues.filter((i) => i.severity === 'error') }).toEqual({ f, errors: [] })
      expect(result.cluster?.nodes.length).toBeGreaterThanOrEqual(4)
    }
  })

  it('reports a missing file as an issue, not a crash', async () => {
    const r = await loadClusterFile('/nonexistent/cluster.yaml', { displayPath: 'cluster.yaml' })
    expect(r.issues).toEqual([
      expect.objectContaining({
        code: 'FileUnreadable',
        message: 'cannot read the cluster file cluster.yaml: no such file'
      })
    ])
  })

  it('reports YAML syntax errors with their position', () => {
    const [e] = errorsOf('kind: k3s\nname: [unclosed\n')
    expect(e.code).toBe('YamlSyntax')
    expect(e.where?.line).toBeGreaterThanOrEqual(2)
  })

  it('returns every problem at once', () => {
    const text = withLine(
      withLine(BASE_K3S, 'name:', 'name: Lab_1'),
      '  - { node: 3',
      '  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true }'
    )
    const codes = errorsOf(text)
      .map((e) => e.code)
      .sort()
    expect(codes).toEqual(['DuplicateHostname', 'DuplicateIp', 'DuplicateSlot', 'InvalidName'])
  })

  it('locates a field for annotations', () => {
    const r = parseCluster(BASE_K3S, 'c.yaml')
    expect(r.locate(['workers', 1, 'hostname'])).toMatchObject({ file: 'c.yaml', line: 10, column: 33 })
  })

  it('accepts a Talos file with its defaults', () => {
    const { cluster, issues } = parseCluster(BASE_TALOS, 't.yaml')
    expect(issues).toEqual([])
    expect(cluster).toMatchObject({
      talos_version: 'v1.9.0',
      image_source: 'factory',
      allow_scheduling_on_controlplane: true,
      bootstrap_timeout: 600
    })
    expect(cluster!.nodes[0].install_disk).toBe('/dev/mmcblk0')
  })
})

describe('unknown keys and other rules together', () => {
  it('still runs the cross-field checks when the only schema problems are unknown keys', () => {
    const text = BASE_K3S.replace('name: lab', 'name: Lab_1') + 'colour: blue\n'
    const codes = parseCluster(text, 'c.yaml')
      .issues.map((i) => i.code)
      .sort()
    expect(codes).toEqual(['InvalidName', 'UnknownKey'])
  })
})
