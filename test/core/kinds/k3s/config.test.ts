import { describe, expect, test } from '@jest/globals'
import { disabledComponents, renderK3sConfig, topology } from '../../../../src/core/kinds/k3s/config.js'
import { haNodes, k3sCluster } from './fixtures.js'

describe('renderK3sConfig', () => {
  test('renders the single server with cluster networking and no server URL', () => {
    const cluster = k3sCluster()
    expect(renderK3sConfig(cluster, cluster.nodes[0]))
      .toBe(`# Managed by turingpi-cluster-action: edits are overwritten on the next deploy.
node-name: "k3s-cp"
node-ip: "10.10.88.73"
token-file: "/etc/rancher/k3s/cluster-token"
cluster-cidr: "10.244.0.0/16"
service-cidr: "10.96.0.0/12"
cluster-dns: "10.96.0.10"
flannel-backend: "vxlan"
write-kubeconfig-mode: "0600"
tls-san:
  - "10.10.88.73"
  - "k3s-cp"
`)
  })

  test('renders an agent with the server URL and its labels sorted, without server-only keys', () => {
    const cluster = k3sCluster()
    expect(renderK3sConfig(cluster, cluster.nodes[1]))
      .toBe(`# Managed by turingpi-cluster-action: edits are overwritten on the next deploy.
node-name: "k3s-w1"
node-ip: "10.10.88.74"
token-file: "/etc/rancher/k3s/cluster-token"
server: "https://10.10.88.73:6443"
node-label:
  - "tier=gpu"
  - "zone=b"
`)
  })

  test('HA: the first server initialises embedded etcd, the others join it', () => {
    const cluster = k3sCluster('endpoint: https://k8s.lab.example:6443', haNodes)
    const first = renderK3sConfig(cluster, cluster.nodes[0])
    const second = renderK3sConfig(cluster, cluster.nodes[1])
    expect(first).toContain('cluster-init: true\n')
    expect(first).not.toContain('server:')
    expect(second).not.toContain('cluster-init')
    expect(second).toContain('server: "https://10.10.88.73:6443"\n')
    expect(second).toContain('tls-san:\n  - "k8s.lab.example"\n  - "k3s-cp2"\n  - "10.10.88.74"\n')
    expect(topology(cluster).ha).toBe(true)
  })

  test('a single server does not initialise etcd', () => {
    const cluster = k3sCluster()
    expect(renderK3sConfig(cluster, cluster.nodes[0])).not.toContain('cluster-init')
  })

  test('MetalLB disables servicelb; a Helm-managed traefik or ingress-nginx disables the bundled traefik', () => {
    expect(
      disabledComponents(k3sCluster('addons: { metallb: true }\nmetallb_ip_range: 10.10.88.80-10.10.88.89'))
    ).toEqual(['servicelb'])
    expect(disabledComponents(k3sCluster('addons: { traefik: true }'))).toEqual(['traefik'])
    expect(
      disabledComponents(
        k3sCluster('addons: { metallb: true, nginx_ingress: true }\nmetallb_ip_range: 10.10.88.80-10.10.88.89')
      )
    ).toEqual(['servicelb', 'traefik'])
    expect(disabledComponents(k3sCluster())).toEqual([])
    const cluster = k3sCluster('addons: { metallb: true, traefik: true }\nmetallb_ip_range: 10.10.88.80-10.10.88.89')
    expect(renderK3sConfig(cluster, cluster.nodes[0])).toContain('disable:\n  - "servicelb"\n  - "traefik"\n')
  })

  test('pod_cidr and flannel_backend changes show up only in server configs', () => {
    const before = k3sCluster()
    const after = k3sCluster('pod_cidr: 10.42.0.0/16\nflannel_backend: host-gw')
    expect(renderK3sConfig(after, after.nodes[0])).toContain(
      'cluster-cidr: "10.42.0.0/16"\nservice-cidr: "10.96.0.0/12"\ncluster-dns: "10.96.0.10"\nflannel-backend: "host-gw"\n'
    )
    expect(renderK3sConfig(after, after.nodes[2])).toBe(renderK3sConfig(before, before.nodes[2]))
  })
})
