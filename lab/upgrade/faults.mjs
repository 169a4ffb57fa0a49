// Upgrade faults a test sets on a lab K3s cluster's object store (<lab>/share/k3s/<first server ip>.kube):
// a workload whose PodDisruptionBudget allows no disruption on one node (a drain there blocks), and the
// etcd voter condition k3s keeps on each server's Node.
import { updateState } from '../kube/store.mjs'
import { budgetStatus } from './kubectl-verbs.mjs'

/**
 * A one-replica StatefulSet pod on `node` guarded by a budget with minAvailable 1: draining `node` blocks.
 * `served`: the store is lab/kube's API (a Talos cluster), which keeps budgets under their API group and
 * serves what is stored, so the budget carries the status the disruption controller would set.
 */
export function guardPod(
  dataDir,
  { namespace = 'web', name = 'web-0', node, budget = 'web-pdb', labels = { app: 'web' }, served = false }
) {
  updateState(dataDir, (state) => {
    state.objects[`/namespaces//${namespace}`] ??= {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
      status: { phase: 'Active' }
    }
    state.objects[`/pods/${namespace}/${name}`] = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels,
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'StatefulSet', name: name.replace(/-\d+$/, ''), controller: true }
        ]
      },
      spec: { nodeName: node },
      status: { phase: 'Running' }
    }
    const pdb = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: budget, namespace },
      spec: { minAvailable: 1, selector: { matchLabels: labels } }
    }
    if (served) pdb.status = budgetStatus(state, pdb)
    state.objects[`${served ? 'policy' : ''}/poddisruptionbudgets/${namespace}/${budget}`] = pdb
    state.resourceVersion += 1
  })
}

/** Lets the budget go (the operator scaled the workload or relaxed the budget). */
export function dropBudget(dataDir, { namespace = 'web', budget = 'web-pdb', served = false } = {}) {
  updateState(dataDir, (state) => {
    delete state.objects[`${served ? 'policy' : ''}/poddisruptionbudgets/${namespace}/${budget}`]
    state.resourceVersion += 1
  })
}

/** k3s's EtcdIsVoter condition on a server's Node (k3s sets it from the etcd member list). */
export function setEtcdVoter(
  dataDir,
  name,
  voter,
  message = voter ? 'Node is a voting member of the etcd cluster' : 'Node is a learner in the etcd cluster'
) {
  updateState(dataDir, (state) => {
    const node = state.objects[`/nodes//${name}`]
    if (!node) return
    const at = new Date().toISOString()
    const others = (node.status.conditions ?? []).filter((c) => c.type !== 'EtcdIsVoter')
    node.status.conditions = [
      ...others,
      {
        type: 'EtcdIsVoter',
        status: voter ? 'True' : 'False',
        reason: voter ? 'MemberIsVoter' : 'MemberIsLearner',
        message,
        lastHeartbeatTime: at,
        lastTransitionTime: at
      }
    ]
    state.resourceVersion += 1
    node.metadata.resourceVersion = String(state.resourceVersion)
  })
}

// Talos: faults of a node's next upgrades, kept in the node's own folder (lab/talos/lib/upgrade.mjs
// reads them when the upgrade request arrives).
export {
  setUpgradeFault as setTalosUpgradeFault,
  clearUpgradeFault as clearTalosUpgradeFault,
  clearHalt as clearTalosHalt
} from '../talos/lib/upgrade.mjs'
