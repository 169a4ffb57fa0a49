// Manifests the addons phase applies with kubectl: MetalLB's address pool and L2 advertisement from
// metallb_ip_range, and the privileged namespace Longhorn needs under Talos' Pod Security admission.
import { stringify } from 'yaml'

export const METALLB_POOL = 'turingpi-pool'
export const METALLB_L2 = 'turingpi-l2'
export const LONGHORN_PSA_LABEL = 'pod-security.kubernetes.io/enforce'
/**
 * The label on what this action applies, with the key Helm gives its release Secrets (owner=helm): one
 * `owner in (helm,turingpi-cluster)` selector then reads the releases and these objects together.
 */
export const OWNER_LABEL = 'owner'
export const OWNER = 'turingpi-cluster'

export interface Manifest {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  spec?: Record<string, unknown>
}

/** "10.10.88.80-10.10.88.89" (as the cluster file has it, validated there) → pool + advertisement. */
export function metallbManifests(ipRange: string, namespace = 'metallb-system'): Manifest[] {
  const range = ipRange.replace(/\s+/g, '')
  return [
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: METALLB_POOL, namespace, labels: { [OWNER_LABEL]: OWNER } },
      spec: { addresses: [range] }
    },
    {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'L2Advertisement',
      metadata: { name: METALLB_L2, namespace, labels: { [OWNER_LABEL]: OWNER } },
      spec: { ipAddressPools: [METALLB_POOL] }
    }
  ]
}

export function privilegedNamespace(name: string): Manifest {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [LONGHORN_PSA_LABEL]: 'privileged' } } }
}

/** Multi-document YAML for `kubectl apply -f -`. */
export function toYaml(manifests: Manifest[]): string {
  return manifests.map((m) => stringify(m)).join('---\n')
}
