// `k3s kubectl cordon|drain NODE` in the lab: cordon marks the Node unschedulable (spec.unschedulable and
// kubectl's node.kubernetes.io/unschedulable taint); drain cordons and evicts the node's pods except
// DaemonSet pods (refused without --ignore-daemonsets, as kubectl does). Printed lines are kubectl's.
import { updateState } from '../../../kube/store.mjs'
import { nodeKey } from './store.mjs'

const TAINT = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }

export function cordonOrDrain(dataDir, verb, name, flags) {
  const out = updateState(dataDir, (state) => {
    const node = state.objects[nodeKey(name)]
    if (!node) return { missing: true }
    const was = node.spec?.unschedulable === true
    node.spec = {
      ...(node.spec ?? {}),
      unschedulable: true,
      taints: [...(node.spec?.taints ?? []).filter((t) => t.key !== TAINT.key), TAINT]
    }
    const pods = Object.entries(state.objects).filter(([k, p]) => k.startsWith('/pods/') && p.spec?.nodeName === name)
    const daemon = pods.filter(([, p]) => (p.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet'))
    if (verb === 'drain' && daemon.length && !flags['--ignore-daemonsets'])
      return { was, refused: daemon.map(([, p]) => `${p.metadata.namespace}/${p.metadata.name}`) }
    const evicted = verb === 'drain' ? pods.filter((e) => !daemon.includes(e)) : []
    for (const [k] of evicted) delete state.objects[k]
    state.resourceVersion += 1
    node.metadata.resourceVersion = String(state.resourceVersion)
    return { was, evicted: evicted.map(([, p]) => `${p.metadata.namespace}/${p.metadata.name}`) }
  })
  if (out.missing) {
    process.stderr.write(`Error from server (NotFound): nodes "${name}" not found\n`)
    return 1
  }
  process.stdout.write(`node/${name} ${out.was ? 'already cordoned' : 'cordoned'}\n`)
  if (out.refused) {
    process.stderr.write(
      `error: unable to drain node "${name}" due to error: cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${out.refused.join(', ')}, continuing command...\n`
    )
    return 1
  }
  if (verb === 'drain') {
    for (const p of out.evicted) process.stdout.write(`evicting pod ${p}\n`)
    for (const p of out.evicted) process.stdout.write(`pod/${p.split('/')[1]} evicted\n`)
    process.stdout.write(`node/${name} drained\n`)
  }
  return 0
}
