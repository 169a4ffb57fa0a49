// `k3s kubectl` in the lab, answered from the shared cluster store: nodes (real List JSON shape with
// conditions and role labels), kube-system pods, node-password secrets, delete and label. Faults: a file
// <lab>/k3s/faults/<node>.notready keeps that node NotReady with kubelet's CNI message.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { labDir, loadCluster, nodeIdentity, readText, updateCluster } from './store.mjs'

const CORE = ['coredns-ccb96694c', 'local-path-provisioner-5cf85fd84d', 'metrics-server-5985cbc9d7']

function fail(message, code = 1) {
  process.stderr.write(message + '\n')
  return code
}

function notReady(name) {
  return existsSync(join(labDir(), 'k3s', 'faults', `${name}.notready`))
}

function nodeObject(name, node) {
  const ready = !notReady(name)
  const at = node.started ?? node.created
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { creationTimestamp: node.created, labels: node.labels, name },
    spec: { podCIDR: '10.42.0.0/24' },
    status: {
      addresses: [
        { address: node.ip, type: 'InternalIP' },
        { address: name, type: 'Hostname' }
      ],
      conditions: [
        ready
          ? { lastHeartbeatTime: at, lastTransitionTime: at, message: 'kubelet is posting ready status', reason: 'KubeletReady', status: 'True', type: 'Ready' }
          : {
              lastHeartbeatTime: at,
              lastTransitionTime: at,
              message: 'container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized',
              reason: 'KubeletNotReady',
              status: 'False',
              type: 'Ready'
            }
      ],
      nodeInfo: {
        architecture: 'arm64',
        containerRuntimeVersion: 'containerd://1.7.23-k3s2',
        kernelVersion: '6.1.115-vendor-rk35xx',
        kubeletVersion: node.version,
        operatingSystem: 'linux',
        osImage: 'Armbian 25.8.1 bookworm'
      }
    }
  }
}

function pods(cluster) {
  const names = [...CORE]
  if (!(cluster.config?.disable ?? []).includes('traefik')) names.push('traefik-5d45fc8cc9')
  return names.map((base, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${base}-${'abcde'[i]}x${i}q7`, namespace: 'kube-system' },
    status: { phase: 'Running' }
  }))
}

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
  if (!readText('/etc/rancher/k3s/k3s.yaml')) return fail('error: error loading config file "/etc/rancher/k3s/k3s.yaml": open /etc/rancher/k3s/k3s.yaml: no such file or directory')
  const cluster = loadCluster(serverIp)
  if (!cluster?.token) return fail('The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?')
  const { positional, namespace, output } = parse(args)
  const [verb, kindRaw, name, ...rest] = positional
  const kind = (kindRaw ?? '').replace(/s$/, '')
  if (verb === 'get' && args.includes('--raw')) {
    process.stdout.write('ok')
    return 0
  }
  if (verb === 'get' && kind === 'node') {
    const entries = Object.entries(cluster.nodes).sort(([a], [b]) => a.localeCompare(b))
    if (name) {
      const found = cluster.nodes[name]
      if (!found) return fail(`Error from server (NotFound): nodes "${name}" not found`)
      process.stdout.write(output === 'json' ? JSON.stringify(nodeObject(name, found), null, 4) + '\n' : `${name}\n`)
      return 0
    }
    const list = { apiVersion: 'v1', items: entries.map(([n, node]) => nodeObject(n, node)), kind: 'List', metadata: { resourceVersion: '' } }
    process.stdout.write(JSON.stringify(list, null, 4) + '\n')
    return 0
  }
  if (verb === 'get' && kind === 'pod') {
    const items = namespace === 'kube-system' ? pods(cluster) : []
    process.stdout.write(JSON.stringify({ apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } }, null, 4) + '\n')
    return 0
  }
  if (verb === 'get' && kind === 'secret' && name) {
    if (namespace !== 'kube-system' || !cluster.secrets[name]) return fail(`Error from server (NotFound): secrets "${name}" not found`)
    process.stdout.write(`${name}\n`)
    return 0
  }
  if (verb === 'delete' && (kind === 'node' || kind === 'secret') && name) {
    const table = kind === 'node' ? 'nodes' : 'secrets'
    const existed = await updateCluster(serverIp, (c) => {
      if (kind === 'secret' && namespace !== 'kube-system') return false
      const had = name in c[table]
      delete c[table][name]
      return had
    })
    if (!existed && !args.includes('--ignore-not-found')) return fail(`Error from server (NotFound): ${table} "${name}" not found`)
    if (existed) process.stdout.write(`${kind} "${name}" deleted\n`)
    return 0
  }
  if (verb === 'label' && kind === 'node' && name) {
    const pairs = rest.filter((p) => p.includes('='))
    const ok = await updateCluster(serverIp, (c) => {
      if (!c.nodes[name]) return false
      for (const p of pairs) c.nodes[name].labels[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1)
      return true
    })
    if (!ok) return fail(`Error from server (NotFound): nodes "${name}" not found`)
    process.stdout.write(`node/${name} labeled\n`)
    return 0
  }
  return fail(`k3s kubectl stand-in: unsupported arguments: ${args.join(' ')}`, 2)
}
