// Cluster files for the addons tests (LAN addresses only as data: nothing here connects anywhere).
import { parseCluster } from '../../../../src/core/config/load.js'
import type { Cluster } from '../../../../src/core/config/model.js'

/** addons: the lines under `addons:` (default MetalLB and Traefik). */
export function k3sCluster(addons = '  metallb: true\n  traefik: true', extra = ''): Cluster {
  const text = `kind: k3s
name: lab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
armbian_image: { source: url, url: https://example.invalid/armbian.img.xz }
metallb_ip_range: 10.10.88.80-10.10.88.89
ingress_ip: 10.10.88.80
longhorn_replicas: 2
control_plane: { node: 1, ip: 10.10.88.73, hostname: rk1-a, has_nvme: true }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: rk1-b, has_nvme: true }
${extra}
addons:
${addons}`
  const { cluster, issues } = parseCluster(text, 'cluster.yaml')
  if (!cluster) throw new Error(`fixture does not parse: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
  return cluster
}

export function talosCluster(extensions: string[]): Cluster {
  const text = `kind: talos
name: lab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
longhorn_enabled: true
longhorn_replicas: 1
image_factory: { extensions: [${extensions.join(', ')}] }
control_plane: { node: 1, ip: 10.10.88.73, hostname: rk1-a, has_nvme: true }
`
  const { cluster, issues } = parseCluster(text, 'cluster.yaml')
  if (!cluster) throw new Error(`fixture does not parse: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`)
  return cluster
}
