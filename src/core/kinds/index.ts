// The cluster kinds by name. Phases ask ctx.kind; code that holds only a Cluster (the plan before a
// context exists, the image pre-flight check, drift's node probe) asks kindOf.
import type { Cluster } from '../config/model.js'
import { k3sKind } from './k3s/kind.js'
import { talosKind } from './talos/kind.js'
import type { ClusterKind } from './types.js'

export const KINDS: Record<Cluster['kind'], ClusterKind> = { k3s: k3sKind, talos: talosKind }

export const kindOf = (cluster: Pick<Cluster, 'kind'>): ClusterKind => KINDS[cluster.kind]

export type { ClusterKind } from './types.js'
