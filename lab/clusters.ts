// Overrides that turn examples/k3s-cluster.yaml into the HA shape the lab's day-2 runs share: three servers
// (embedded etcd, real etcd members in the lab) and one agent, with addons and the NPU stack off so K3s
// itself is the subject. The e2e tests, benches and demos that walk backups, restores and upgrades start here.
export function haK3sOverrides(opts: { agentNvme?: boolean } = {}) {
  return {
    control_plane: [
      { node: 1, ip: '10.10.88.73', hostname: 'k3s-cp1', has_nvme: false },
      { node: 2, ip: '10.10.88.74', hostname: 'k3s-cp2', has_nvme: false },
      { node: 3, ip: '10.10.88.75', hostname: 'k3s-cp3', has_nvme: false }
    ],
    workers: [{ node: 4, ip: '10.10.88.76', hostname: 'k3s-w1', has_nvme: opts.agentNvme ?? false }],
    addons: { metallb: false, traefik: false, longhorn: false, prometheus: false, portainer_agent: false },
    longhorn_enabled: false,
    npu_config: { install_rknn: false, install_rkllm: false, deploy_rkllama: false },
    cluster_timeout: 60
  }
}
