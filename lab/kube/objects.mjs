// Object helpers shared by the API server and the stand-ins: Node objects in the shape kubelet reports,
// metav1.Status errors with the apiserver's wording, label selectors, JSON merge patch, and the lab's
// "ready-at" annotation that lets a Deployment or an Endpoints become ready some time after creation.
import { randomUUID } from 'node:crypto'

/** Deployments, DaemonSets, StatefulSets and Endpoints carrying this annotation are not ready before it. */
export const READY_AT = 'lab.turingpi.io/ready-at'

export function status(code, reason, message, details) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code
  }
}

export const notFound = (what, name, details) => status(404, 'NotFound', `${what} "${name}" not found`, details)
export const alreadyExists = (what, name, details) =>
  status(409, 'AlreadyExists', `${what} "${name}" already exists`, details)

/** The Node object of a registered node (kubelet's field set, trimmed to what tools read). */
export function nodeObject(node, previous) {
  const now = new Date().toISOString()
  const created = previous?.metadata?.creationTimestamp ?? now
  const roles = Object.fromEntries((node.roles ?? []).map((r) => [`node-role.kubernetes.io/${r}`, 'true']))
  const labels = {
    'beta.kubernetes.io/arch': 'arm64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'arm64',
    'kubernetes.io/hostname': node.name,
    'kubernetes.io/os': 'linux',
    ...roles,
    ...(previous?.metadata?.labels ?? {}),
    ...(node.labels ?? {})
  }
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: node.name,
      uid: previous?.metadata?.uid ?? randomUUID(),
      creationTimestamp: created,
      labels,
      annotations: previous?.metadata?.annotations ?? {}
    },
    // A cordon outlives a kubelet restart, as on a real node.
    spec: {
      podCIDR: node.podCIDR ?? '10.42.0.0/24',
      ...(previous?.spec?.unschedulable ? { unschedulable: true } : {})
    },
    status: {
      addresses: [
        { address: node.ip, type: 'InternalIP' },
        { address: node.name, type: 'Hostname' }
      ],
      conditions: [readyCondition(node.ready, node.reason, now)],
      nodeInfo: {
        architecture: 'arm64',
        containerRuntimeVersion: node.containerRuntime,
        kernelVersion: node.kernelVersion,
        kubeletVersion: node.kubeletVersion,
        kubeProxyVersion: node.kubeletVersion,
        operatingSystem: 'linux',
        osImage: node.osImage
      }
    }
  }
}

export function readyCondition(ready, reason, at = new Date().toISOString()) {
  return ready
    ? {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        message: 'kubelet is posting ready status',
        lastHeartbeatTime: at,
        lastTransitionTime: at
      }
    : {
        type: 'Ready',
        status: 'False',
        reason: reason ?? 'KubeletNotReady',
        message:
          reason ??
          'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
        lastHeartbeatTime: at,
        lastTransitionTime: at
      }
}

/**
 * A label selector as the apiserver reads it: `a=b`, `a==b`, `a!=b`, `a`, `!a`, and the set-based `a in (x,y)`
 * and `a notin (x,y)` (commas inside the parentheses do not separate terms). Anything else is refused
 * with the apiserver's message, as a real server would.
 */
export function parseSelector(text) {
  if (!text) return () => true
  const terms = (text.match(/([^,(]|\([^)]*\))+/g) ?? [])
    .map((t) => t.trim())
    .filter(Boolean)
    .map((t) => {
      let m
      if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t))) {
        const values = m[3].split(',').map((v) => v.trim())
        return m[2] === 'in'
          ? (l) => m[1] in l && values.includes(l[m[1]])
          : (l) => !(m[1] in l) || !values.includes(l[m[1]])
      }
      if ((m = /^([^!=\s]+)\s*!=\s*(.*)$/.exec(t))) return (l) => l[m[1]] !== m[2]
      if ((m = /^([^!=\s]+)\s*==?\s*(.*)$/.exec(t))) return (l) => l[m[1]] === m[2]
      if ((m = /^!([\w./-]+)$/.exec(t))) return (l) => !(m[1] in l)
      if ((m = /^([\w./-]+)$/.exec(t))) return (l) => m[1] in l
      throw new SelectorError(`unable to parse requirement: found '${t}', expected: in, notin, =, ==, !=, gt, lt`)
    })
  return (labels) => terms.every((term) => term(labels ?? {}))
}

/** A selector the apiserver refuses (400 Bad Request). */
export class SelectorError extends Error {}

/** RFC 7386 JSON merge patch (also used for strategic merge and server-side apply: lists are replaced). */
export function mergePatch(target, patch) {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch
  const out = target && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

function readyAt(obj) {
  const at = obj.metadata?.annotations?.[READY_AT]
  return at ? Date.parse(at) : 0
}

/** The object as a client sees it now: workloads and endpoints turn ready once their ready-at has passed. */
export function materialize(obj) {
  const kind = obj.kind
  if (!['Deployment', 'DaemonSet', 'StatefulSet', 'Endpoints'].includes(kind)) return obj
  const ready = Date.now() >= readyAt(obj)
  const copy = structuredClone(obj)
  if (kind === 'Endpoints') {
    if (!ready)
      copy.subsets = (copy.subsets ?? []).map((s) => ({
        ...s,
        notReadyAddresses: [...(s.notReadyAddresses ?? []), ...(s.addresses ?? [])],
        addresses: undefined
      }))
    return copy
  }
  const replicas = kind === 'DaemonSet' ? (copy.status?.desiredNumberScheduled ?? 1) : (copy.spec?.replicas ?? 1)
  const at = new Date(readyAt(obj) || Date.parse(obj.metadata?.creationTimestamp ?? '') || Date.now()).toISOString()
  if (kind === 'DaemonSet') {
    copy.status = {
      desiredNumberScheduled: replicas,
      currentNumberScheduled: replicas,
      numberReady: ready ? replicas : 0,
      numberAvailable: ready ? replicas : 0,
      updatedNumberScheduled: replicas,
      observedGeneration: 1
    }
  } else {
    copy.status = {
      replicas,
      updatedReplicas: replicas,
      readyReplicas: ready ? replicas : 0,
      availableReplicas: ready ? replicas : 0,
      observedGeneration: 1,
      ...(kind === 'Deployment'
        ? {
            conditions: [
              ready
                ? {
                    type: 'Available',
                    status: 'True',
                    reason: 'MinimumReplicasAvailable',
                    message: 'Deployment has minimum availability.',
                    lastTransitionTime: at,
                    lastUpdateTime: at
                  }
                : {
                    type: 'Available',
                    status: 'False',
                    reason: 'MinimumReplicasUnavailable',
                    message: 'Deployment does not have minimum availability.',
                    lastTransitionTime: at,
                    lastUpdateTime: at
                  }
            ]
          }
        : {})
    }
  }
  return copy
}
