// Machine config patches generated from the cluster file, one pure function each, so tests can assert the
// exact YAML. They are handed to `talosctl gen config --config-patch @file` in this order: cluster-wide,
// role, node (generated), then the user's patches.all, patches.<role>, the node's patches — later wins,
// as talhelper users expect.
import { stringify } from 'yaml'
import type { Cluster, NodeSpec } from '../../config/model.js'

type TalosCluster = Extract<Cluster, { kind: 'talos' }>

/** Where Longhorn's data lives on a Talos node: user volumes are mounted under /var/mnt/<name>. */
export const TALOS_LONGHORN_PATH = '/var/mnt/longhorn'

export interface GeneratedPatch {
  /** File name stem, for messages and the temp file: cluster, controlplane, node-<id>. */
  name: string
  yaml: string
}

/** [major, minor, patch] of v1.9.0; throws on anything else (validation has refused it already). */
export function talosSemver(version: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version)
  if (!m) throw new Error(`talos_version "${version}" is not of the form v1.9.0`)
  return [Number(m[1]), Number(m[2]), Number(m[3])]
}

export function atLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = talosSemver(version)
  return a > major || (a === major && b >= minor)
}

const doc = (value: unknown): string => stringify(value, { lineWidth: 0 })

/** Pod and service networks, for every node. */
export function clusterPatch(cluster: TalosCluster): GeneratedPatch {
  return {
    name: 'cluster',
    yaml: doc({ cluster: { network: { podSubnets: [cluster.pod_cidr], serviceSubnets: [cluster.service_cidr] } } })
  }
}

/** Control planes only: whether workloads may run on them (the 4-node default: yes). */
export function controlPlanePatch(cluster: TalosCluster): GeneratedPatch {
  return {
    name: 'controlplane',
    yaml: doc({ cluster: { allowSchedulingOnControlPlanes: cluster.allow_scheduling_on_controlplane } })
  }
}

/**
 * The hostname: Talos 1.12 moved it to its own HostnameConfig document (machine.network.hostname is
 * deprecated there); before 1.12 that document does not exist and the v1alpha1 field is the only way.
 */
export function hostnamePatch(version: string, hostname: string): string {
  if (atLeast(version, 1, 12)) return doc({ apiVersion: 'v1alpha1', kind: 'HostnameConfig', auto: 'off', hostname })
  return doc({ machine: { network: { hostname } } })
}

/** Static address on the board's one physical NIC, default route and resolvers. */
export function addressPatch(cluster: TalosCluster, node: NodeSpec): string {
  const gateway = cluster.network.gateway as string
  const dns = cluster.network.dns.length > 0 ? cluster.network.dns : [gateway]
  return doc({
    machine: {
      network: {
        nameservers: dns,
        interfaces: [
          {
            deviceSelector: { physical: true },
            dhcp: false,
            addresses: [`${node.ip}/${cluster.network.prefix}`],
            routes: [{ network: '0.0.0.0/0', gateway }]
          }
        ]
      }
    }
  })
}

/**
 * Longhorn's data on the NVMe: a UserVolumeConfig (Talos ≥ 1.10, mounted at /var/mnt/longhorn) or, before
 * that, a machine.disks partition at the same mount point; plus the kubelet bind mount Longhorn needs to
 * see it with rshared propagation.
 */
export function longhornPatch(version: string, node: NodeSpec): string {
  const kubelet = {
    machine: {
      kubelet: {
        extraMounts: [
          {
            destination: TALOS_LONGHORN_PATH,
            type: 'bind',
            source: TALOS_LONGHORN_PATH,
            options: ['bind', 'rshared', 'rw']
          }
        ]
      }
    }
  }
  if (atLeast(version, 1, 10)) {
    const volume = {
      apiVersion: 'v1alpha1',
      kind: 'UserVolumeConfig',
      name: 'longhorn',
      provisioning: { diskSelector: { match: `disk.dev_path == '${node.nvme_device}'` }, minSize: '10GiB', grow: true }
    }
    return `${doc(kubelet)}---\n${doc(volume)}`
  }
  const disks = {
    machine: { disks: [{ device: node.nvme_device, partitions: [{ mountpoint: TALOS_LONGHORN_PATH }] }] }
  }
  return doc({ machine: { ...disks.machine, ...kubelet.machine } })
}

/** Node labels from the file (machine.nodeLabels). */
export function labelsPatch(node: NodeSpec): string | undefined {
  return Object.keys(node.labels).length > 0 ? doc({ machine: { nodeLabels: node.labels } }) : undefined
}

/** Everything generated for one node, in application order. */
export function generatedPatches(cluster: TalosCluster, node: NodeSpec): GeneratedPatch[] {
  const out = [clusterPatch(cluster)]
  if (node.role === 'controlplane') out.push(controlPlanePatch(cluster))
  const parts = [hostnamePatch(cluster.talos_version, node.hostname), addressPatch(cluster, node)]
  if (cluster.longhorn && node.has_nvme) parts.push(longhornPatch(cluster.talos_version, node))
  const labels = labelsPatch(node)
  if (labels) parts.push(labels)
  parts.forEach((yaml, i) => out.push({ name: `node-${node.id}-${i + 1}`, yaml }))
  return out
}

/** The user's patch files for a node, in application order: all, role, node (paths as in the file). */
export function userPatchFiles(cluster: TalosCluster, node: NodeSpec): string[] {
  return [
    ...cluster.patches.all,
    ...(node.role === 'controlplane' ? cluster.patches.controlplane : cluster.patches.worker),
    ...(node.patches ?? [])
  ]
}
