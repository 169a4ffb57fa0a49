// Cluster files for k3s phase tests, parsed through the real loader so defaults match production.
import { parseCluster } from '../../../../src/core/config/load.js'
import type { K3sCluster } from '../../../../src/core/kinds/k3s/config.js'

export function k3sCluster(extra = '', nodes = defaultNodes): K3sCluster {
  const text = `kind: k3s
name: lab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
armbian_image: { path: armbian.img }
network: { prefix: 24, gateway: 10.10.88.1 }
${nodes}
${extra}
`
  const { cluster, issues } = parseCluster(text, 'cluster.yaml')
  const errors = issues.filter((i) => i.severity === 'error')
  if (!cluster || errors.length) throw new Error(`fixture invalid: ${JSON.stringify(errors)}`)
  return cluster as K3sCluster
}

export const defaultNodes = `control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: k3s-w1, labels: { zone: b, tier: gpu } }
  - { node: 3, ip: 10.10.88.75, hostname: k3s-w2 }
  - { node: 4, ip: 10.10.88.76, hostname: k3s-w3 }`

export const haNodes = `control_plane:
  - { node: 1, ip: 10.10.88.73, hostname: k3s-cp1 }
  - { node: 2, ip: 10.10.88.74, hostname: k3s-cp2 }
  - { node: 3, ip: 10.10.88.75, hostname: k3s-cp3 }
workers:
  - { node: 4, ip: 10.10.88.76, hostname: k3s-w1 }`
