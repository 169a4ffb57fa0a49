// `k3s kubectl` in the lab, answered from the cluster's Kubernetes objects (lab/kube's state in the
// shared store, the same objects the lab API on the first server serves): nodes (List JSON with
// conditions and role labels), kube-system pods, node-password secrets, delete and label. Faults: a file
// <lab>/k3s/faults/<node>.notready keeps that node NotReady with kubelet's CNI message.
import { existsSync } from 'node:fs'
import { readState, updateState } from '../../../kube/store.mjs'
import { upgradeKubectl } from '../../../upgrade/kubectl-verbs.mjs'
import { quorumLost } from '../../../upgrade/quorum.mjs'
import { applyFaults, kubeDir, loadCluster, nodeIdentity, nodeKey, readText } from './store.mjs'
import { cordonOrDrain } from './drain.mjs'
import { etcdConfig } from '../../../etcd/kube-store.mjs'
import { memberList, memberRemove } from '../../../etcd/ctl.mjs'

function fail(message, code = 1) {
  process.stderr.write(message + '\n')
  return code
}

const list = (items) => ({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } })
const print = (obj) => process.stdout.write(JSON.stringify(obj, null, 4) + '\n')

/** Parses `[-n ns] verb [kind] [name] [-o json] [flags]` in any order. */
function parse(args) {
  const positional = []
  const flags = {}
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === '-n' || a === '--namespace' || a === '-o' || a === '--output') flags[a.replace(/^-+/, '')[0]] = args[++i]
    else if (a.startsWith('--namespace=')) flags.n = a.split('=')[1]
    else if (a.startsWith('-o=') || a.startsWith('--output=')) flags.o = a.split('=')[1]
    else if (a.startsWith('-')) flags[a] = true
    else positional.push(a)
  }
  return { positional, namespace: flags.n ?? 'default', output: flags.o, flags }
}

export async function kubectl(args) {
  const { serverIp } = nodeIdentity()
  if (!readText('/etc/rancher/k3s/k3s.yaml'))
    return fail(
      'error: error loading config file "/etc/rancher/k3s/k3s.yaml": open /etc/rancher/k3s/k3s.yaml: no such file or directory'
    )
  const dataDir = kubeDir(serverIp)
  if (!loadCluster(serverIp)?.token || !existsSync(dataDir))
    return fail('The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?')
  // Without etcd quorum the apiserver answers nothing (lab/upgrade/quorum.mjs).
  const lost = await quorumLost(dataDir)
  if (lost) return fail(lost)
  applyFaults(dataDir)
  // cordon, uncordon, drain and get pdb: lab/upgrade.
  const upgraded = await upgradeKubectl(dataDir, args)
  if (upgraded !== undefined) return upgraded
  const objects = readState(dataDir).objects
  const { positional, namespace, output } = parse(args)
  const [verb, kindRaw, name, ...rest] = positional
  const kind = (kindRaw ?? '').replace(/s$/, '')
  if (verb === 'get' && args.includes('--raw')) {
    process.stdout.write('ok')
    return 0
  }
  if (verb === 'get' && kind === 'node') {
    if (name) {
      const found = objects[nodeKey(name)]
      if (!found) return fail(`Error from server (NotFound): nodes "${name}" not found`)
      if (output === 'json') print(found)
      else process.stdout.write(`${name}\n`)
      return 0
    }
    const nodes = Object.entries(objects)
      .filter(([k]) => k.startsWith('/nodes//'))
      .sort(([a], [b]) => a.localeCompare(b))
    print(list(nodes.map(([, n]) => n)))
    return 0
  }
  if (verb === 'get' && kind === 'pod') {
    const prefix = args.includes('-A') || args.includes('--all-namespaces') ? '/pods/' : `/pods/${namespace}/`
    print(
      list(
        Object.entries(objects)
          .filter(([k]) => k.startsWith(prefix))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([, p]) => p)
      )
    )
    return 0
  }
  if (verb === 'get' && kind === 'secret' && name) {
    if (!objects[`/secrets/${namespace}/${name}`])
      return fail(`Error from server (NotFound): secrets "${name}" not found`)
    process.stdout.write(`${name}\n`)
    return 0
  }
  if ((verb === 'cordon' || verb === 'drain') && kindRaw)
    return cordonOrDrain(dataDir, verb, kindRaw.replace(/^nodes?\//, ''), parse(args).flags)
  if (verb === 'delete' && kind === 'node' && name && etcdConfig(dataDir)) {
    // k3s's etcd controller removes the member of a deleted server node.
    const endpoints = etcdConfig(dataDir).endpoints
    if ((await memberList(endpoints).catch(() => [])).some((m) => m.name === name)) await memberRemove(endpoints, name)
  }
  if (verb === 'delete' && (kind === 'node' || kind === 'secret') && name) {
    const key = kind === 'node' ? nodeKey(name) : `/secrets/${namespace}/${name}`
    const existed = updateState(dataDir, (state) => {
      const had = key in state.objects
      delete state.objects[key]
      if (had) state.resourceVersion += 1
      return had
    })
    if (!existed && !args.includes('--ignore-not-found'))
      return fail(`Error from server (NotFound): ${kind}s "${name}" not found`)
    if (existed) process.stdout.write(`${kind} "${name}" deleted\n`)
    return 0
  }
  if (verb === 'label' && kind === 'node' && name) {
    const pairs = rest.filter((p) => p.includes('='))
    // `key-` removes a label, as with the real kubectl.
    const removed = rest
      .filter((p) => !p.includes('=') && !p.startsWith('-') && p.endsWith('-'))
      .map((p) => p.slice(0, -1))
    const ok = updateState(dataDir, (state) => {
      const node = state.objects[nodeKey(name)]
      if (!node) return false
      node.metadata.labels = { ...(node.metadata.labels ?? {}) }
      for (const p of pairs) node.metadata.labels[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1)
      for (const key of removed) delete node.metadata.labels[key]
      state.resourceVersion += 1
      node.metadata.resourceVersion = String(state.resourceVersion)
      return true
    })
    if (!ok) return fail(`Error from server (NotFound): nodes "${name}" not found`)
    process.stdout.write(`node/${name} ${pairs.length || !removed.length ? 'labeled' : 'unlabeled'}\n`)
    return 0
  }
  return fail(`k3s kubectl stand-in: unsupported arguments: ${args.join(' ')}`, 2)
}
