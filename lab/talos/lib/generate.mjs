// `talosctl gen config` in the lab: the v1alpha1 machine config of a role built from a secrets bundle,
// shaped like Talos 1.9 output without docs/examples, and the talosconfig with an admin client.
import { keyPair } from './pki.mjs'

export const KUBERNETES_FOR = {
  1.7: 'v1.30.3',
  1.8: 'v1.31.1',
  1.9: 'v1.32.0',
  '1.10': 'v1.33.0',
  1.11: 'v1.34.0',
  1.12: 'v1.34.1'
}

export function kubernetesVersion(talosVersion, override) {
  if (override) return override.startsWith('v') ? override : `v${override}`
  const m = /^v?(\d+\.\d+)/.exec(talosVersion ?? '')
  return KUBERNETES_FOR[m?.[1]] ?? 'v1.32.0'
}

export function machineConfig({
  role,
  clusterName,
  endpoint,
  secrets,
  installDisk,
  installImage,
  talosVersion,
  kubernetesVersion: kube
}) {
  const cp = role === 'controlplane'
  const k8s = kubernetesVersion(talosVersion, kube)
  const host = new URL(endpoint).hostname
  const main = {
    version: 'v1alpha1',
    debug: false,
    persist: true,
    machine: {
      type: role,
      token: secrets.trustdinfo.token,
      ca: { crt: secrets.certs.os.crt, key: cp ? secrets.certs.os.key : '' },
      certSANs: [],
      kubelet: {
        image: `ghcr.io/siderolabs/kubelet:${k8s}`,
        defaultRuntimeSeccompProfileEnabled: true,
        disableManifestsDirectory: true
      },
      network: {},
      install: {
        disk: installDisk ?? '/dev/sda',
        image: installImage ?? `ghcr.io/siderolabs/installer:${talosVersion ?? 'v1.9.0'}`,
        wipe: false
      },
      features: {
        rbac: true,
        stableHostname: true,
        apidCheckExtKeyUsage: true,
        diskQuotaSupport: true,
        kubePrism: { enabled: true, port: 7445 },
        hostDNS: { enabled: true, forwardKubeDNSToHost: true }
      },
      ...(cp ? { nodeLabels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } } : {})
    },
    cluster: {
      id: secrets.cluster.id,
      secret: secrets.cluster.secret,
      controlPlane: { endpoint },
      clusterName,
      network: { dnsDomain: 'cluster.local', podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] },
      token: secrets.secrets.bootstraptoken,
      ...(cp ? { secretboxEncryptionSecret: secrets.secrets.secretboxencryptionsecret } : {}),
      ca: { crt: secrets.certs.k8s.crt, key: cp ? secrets.certs.k8s.key : '' },
      ...(cp
        ? {
            aggregatorCA: secrets.certs.k8saggregator,
            serviceAccount: { key: secrets.certs.k8sserviceaccount.key },
            apiServer: {
              image: `registry.k8s.io/kube-apiserver:${k8s}`,
              certSANs: [host],
              disablePodSecurityPolicy: true
            },
            controllerManager: { image: `registry.k8s.io/kube-controller-manager:${k8s}` },
            scheduler: { image: `registry.k8s.io/kube-scheduler:${k8s}` },
            etcd: { ca: secrets.certs.etcd }
          }
        : {}),
      proxy: { image: `registry.k8s.io/kube-proxy:${k8s}` },
      discovery: { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } }
    }
  }
  return main
}

/** The talosconfig `gen config` writes: one context named after the cluster, an os:admin client. */
export function talosconfig(clusterName, secrets) {
  const admin = keyPair('ED25519')
  return {
    context: clusterName,
    contexts: { [clusterName]: { endpoints: ['127.0.0.1'], ca: secrets.certs.os.crt, crt: admin.crt, key: admin.key } }
  }
}
