// /etc/rancher/k3s/config.yaml for each node, as a pure function of the cluster file. The token never
// appears here (it sits in a 0600 token file the config points at), so the rendered text can be hashed,
// compared with the node's file and shown in a plan.
import { createHash } from 'node:crypto'
import type { Cluster, K3sClusterFile, NodeSpec } from '../../config/model.js'

export type K3sCluster = Cluster & K3sClusterFile

export const K3S_CONFIG_PATH = '/etc/rancher/k3s/config.yaml'
export const K3S_TOKEN_FILE = '/etc/rancher/k3s/cluster-token'
export const K3S_SERVER_TOKEN = '/var/lib/rancher/k3s/server/token'
export const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml'

export interface K3sTopology {
  first: NodeSpec
  servers: NodeSpec[]
  agents: NodeSpec[]
  /** Embedded etcd: more than one server. */
  ha: boolean
}

/** Whether the cluster file asks for any part of the NPU stack (os-bootstrap and the npu phase both ask). */
export const wantsNpu = (cluster: Cluster): boolean =>
  !!cluster.npu && (cluster.npu.install_rknn || cluster.npu.install_rkllm || cluster.npu.deploy_rkllama)

export function topology(cluster: Cluster): K3sTopology {
  const servers = cluster.nodes.filter((n) => n.role === 'controlplane')
  const agents = cluster.nodes.filter((n) => n.role === 'worker')
  if (!servers.length) throw new Error(`cluster ${cluster.name}: no control_plane node to run the k3s server on`)
  return { first: servers[0], servers, agents, ha: servers.length > 1 }
}

export function isServer(node: NodeSpec): boolean {
  return node.role === 'controlplane'
}

/** Unit name install.sh creates for the node's role. */
export function unitName(node: NodeSpec): 'k3s' | 'k3s-agent' {
  return isServer(node) ? 'k3s' : 'k3s-agent'
}

export function serverUrl(cluster: Cluster): string {
  return `https://${topology(cluster).first.ip}:6443`
}

/** Components k3s should not deploy because an addon replaces them. */
export function disabledComponents(cluster: K3sCluster): string[] {
  const disabled: string[] = []
  if (cluster.addons.metallb) disabled.push('servicelb')
  // k3s bundles Traefik; Helm manages it instead when asked, and ingress-nginx replaces it.
  if (cluster.addons.traefik || cluster.addons.nginx_ingress) disabled.push('traefik')
  return disabled
}

const str = (value: string): string => JSON.stringify(value)
const list = (key: string, values: string[]): string[] =>
  values.length ? [`${key}:`, ...values.map((v) => `  - ${str(v)}`)] : []

function tlsSans(cluster: Cluster, node: NodeSpec): string[] {
  const sans = [new URL(cluster.apiEndpoint).hostname, node.hostname, node.ip]
  return [...new Set(sans.filter(Boolean))]
}

export function renderK3sConfig(cluster: K3sCluster, node: NodeSpec): string {
  const topo = topology(cluster)
  const labels = Object.keys(node.labels)
    .sort()
    .map((k) => `${k}=${node.labels[k]}`)
  const lines = ['# Managed by turingpi-cluster-action: edits are overwritten on the next deploy.']
  lines.push(`node-name: ${str(node.hostname)}`, `node-ip: ${str(node.ip)}`, `token-file: ${str(K3S_TOKEN_FILE)}`)
  if (node.id !== topo.first.id) lines.push(`server: ${str(serverUrl(cluster))}`)
  if (isServer(node)) {
    if (topo.ha && node.id === topo.first.id) lines.push('cluster-init: true')
    lines.push(
      `cluster-cidr: ${str(cluster.pod_cidr)}`,
      `service-cidr: ${str(cluster.service_cidr)}`,
      `cluster-dns: ${str(cluster.cluster_dns)}`,
      `flannel-backend: ${str(cluster.flannel_backend)}`,
      'write-kubeconfig-mode: "0600"',
      ...list('tls-san', tlsSans(cluster, node)),
      ...list('disable', disabledComponents(cluster))
    )
  }
  lines.push(...list('node-label', labels))
  return lines.join('\n') + '\n'
}

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex')
}
