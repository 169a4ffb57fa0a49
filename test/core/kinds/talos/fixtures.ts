// Talos cluster files for the phase tests, parsed through the real loader so defaults match production.
import { parseCluster } from '../../../../src/core/config/load.js'
import type { Cluster } from '../../../../src/core/config/model.js'

export type TalosCluster = Extract<Cluster, { kind: 'talos' }>

export function talosCluster(extra = '', nodes = oneCpThreeWorkers): TalosCluster {
  const text = `kind: talos
name: lab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
network: { prefix: 24, gateway: 10.10.88.1 }
${nodes}
${extra}
`
  const { cluster, issues } = parseCluster(text, 'cluster.yaml')
  const errors = issues.filter((i) => i.severity === 'error')
  if (!cluster || errors.length) throw new Error(`fixture invalid: ${JSON.stringify(errors)}`)
  return cluster as TalosCluster
}

export const oneCpThreeWorkers = `control_plane: { node: 1, ip: 10.10.88.73, hostname: talos-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: talos-w1, has_nvme: true, labels: { zone: b } }
  - { node: 3, ip: 10.10.88.75, hostname: talos-w2, has_nvme: true }
  - { node: 4, ip: 10.10.88.76, hostname: talos-w3 }`

export const threeCps = `control_plane:
  - { node: 1, ip: 10.10.88.73, hostname: talos-cp1 }
  - { node: 2, ip: 10.10.88.74, hostname: talos-cp2 }
  - { node: 3, ip: 10.10.88.75, hostname: talos-cp3 }
endpoint: https://10.10.88.73:6443`
