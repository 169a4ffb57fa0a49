// `k3s server` and `k3s agent` in the lab: read config.yaml and the token file, check the token and the
// node password like k3s does, register the node in the cluster's Kubernetes objects (lab/kube's state in
// the shared store, the one the lab API on the first server serves) and write the files a real server
// writes (server/token, k3s.yaml with that API's CA and a token). Rejections are logged with k3s's wording.
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { registerNode } from '../../../kube/nodes.mjs'
import { setEtcdVoter } from '../../../upgrade/faults.mjs'
import { readState, updateState } from '../../../kube/store.mjs'
import { servingCert } from '../../../kube/tls.mjs'
import { ETCD_DATA, serveK3sEtcd, writeBootstrap } from '../../../etcd/k3s.mjs'
import {
  emptyCluster,
  kubeDir,
  nodeIdentity,
  nodeKey,
  nodePath,
  notReady,
  readText,
  secretKey,
  updateCluster,
  writeText
} from './store.mjs'

const sha = (text) => createHash('sha256').update(text).digest('hex')
const b64 = (text) => Buffer.from(text).toString('base64')

/** The first server's datastore id: on its own disk, so a reflashed first server starts a new cluster. */
const DATASTORE_ID = '/var/lib/rancher/k3s/server/db/lab-datastore-id'

/** journald-style line into /var/log/k3s.log (the lab's journal) and stderr. */
export function journal(level, msg) {
  const now = new Date()
  const stamp =
    now.toUTCString().slice(8, 11) +
    ' ' +
    String(now.getUTCDate()).padStart(2, ' ') +
    ' ' +
    now.toISOString().slice(11, 19)
  const host = (readText('/etc/hostname') ?? 'localhost').trim()
  const line = `${stamp} ${host} k3s[${process.pid}]: time="${now.toISOString().slice(0, 19)}Z" level=${level} msg="${msg}"\n`
  const file = nodePath('/var/log/k3s.log')
  mkdirSync(dirname(file), { recursive: true })
  appendFileSync(file, line)
  process.stderr.write(line)
}

export const PASSWORD_REJECTED =
  "Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag"

/** k3s.yaml as k3s writes it (names `default`, client certificate data) plus the lab API's bearer token. */
function kubeconfig(caPem, token) {
  const fake = (what) => b64(`lab ${what} ${sha(token + what).slice(0, 24)}`)
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${b64(caPem)}
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: ${fake('cert')}
    client-key-data: ${fake('key')}
    token: ${token}
`
}

function put(state, key, obj) {
  state.resourceVersion += 1
  const previous = state.objects[key]
  obj.metadata = {
    ...obj.metadata,
    uid: previous?.metadata?.uid ?? randomUUID(),
    creationTimestamp: previous?.metadata?.creationTimestamp ?? new Date().toISOString(),
    resourceVersion: String(state.resourceVersion)
  }
  state.objects[key] = obj
}

const CORE_PODS = [
  ['coredns-ccb96694c', 'k8s-app', 'kube-dns'],
  ['local-path-provisioner-5cf85fd84d', 'app', 'local-path-provisioner'],
  ['metrics-server-5985cbc9d7', 'k8s-app', 'metrics-server'],
  ['traefik-5d45fc8cc9', 'app.kubernetes.io/name', 'traefik']
]

/**
 * A new cluster's API data: bearer token, version, serving certificate (SANs: the node's loopback
 * address where the lab serves it, its LAN address, 127.0.0.1, the kubernetes service names and
 * 10.43.0.1) and the namespaces every cluster has.
 */
function createApiData(dataDir, version, ip) {
  rmSync(dataDir, { recursive: true, force: true })
  updateState(dataDir, (state) => {
    state.token = `K10${randomBytes(24).toString('hex')}`
    state.version = version
    for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      put(state, `/namespaces//${name}`, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' }
      })
  })
  const sans = ['IP:10.43.0.1', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc.cluster.local']
  if (/^[\d.]+$/.test(ip)) sans.push(`IP:${ip}`)
  servingCert(dataDir, process.env.TPI_NODE_ADDR || '127.0.0.1', sans)
}

/** kube-system pods of the packaged components (traefik unless disabled), on the first server. */
function corePods(dataDir, cluster, nodeName) {
  updateState(dataDir, (state) => {
    CORE_PODS.forEach(([base, key, value], i) => {
      const name = `${base}-${'abcde'[i]}x${i}q7`
      const podKey = `/pods/kube-system/${name}`
      const wanted = !(base.startsWith('traefik') && (cluster.config.disable ?? []).includes('traefik'))
      if (!wanted) {
        if (state.objects[podKey]) {
          delete state.objects[podKey]
          state.resourceVersion += 1
        }
        return
      }
      if (state.objects[podKey]) return
      put(state, podKey, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: 'kube-system',
          labels: { [key]: value },
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: base, controller: true }]
        },
        spec: { nodeName },
        status: { phase: 'Running' }
      })
    })
  })
}

function labelsOf(config, role, ha, name) {
  const labels = {
    'beta.kubernetes.io/arch': 'arm64',
    'beta.kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'arm64',
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'k3s'
  }
  if (role === 'server') {
    labels['node-role.kubernetes.io/control-plane'] = 'true'
    labels['node-role.kubernetes.io/master'] = 'true'
    if (ha) labels['node-role.kubernetes.io/etcd'] = 'true'
  }
  for (const item of config['node-label'] ?? []) {
    const at = String(item).indexOf('=')
    if (at > 0) labels[item.slice(0, at)] = item.slice(at + 1)
  }
  return labels
}

function tokenMatches(given, cluster) {
  if (!given) return false
  if (given === cluster.token || given === cluster.fullToken) return true
  return given.endsWith(`::server:${cluster.token}`) && given === cluster.fullToken
}

/** Starts the role once; returns 'ready', 'rejected' or 'waiting'. */
export async function start(role, version) {
  const { config, name, ip, serverIp } = nodeIdentity()
  const token = (config['token-file'] ? readText(config['token-file']) : config.token)?.trim()
  const first = role === 'server' && !config.server
  const dataDir = kubeDir(serverIp)
  journal('info', `Starting k3s ${role} ${version}`)
  mkdirSync(nodePath('/var/lib/rancher/k3s'), { recursive: true })
  appendFileSync(nodePath('/var/lib/rancher/k3s/.standin-starts'), `${new Date().toISOString()} ${role}\n`, {
    flag: 'a'
  })
  let password = readText('/etc/rancher/node/password')?.trim()
  if (!password) {
    password = randomBytes(16).toString('hex')
    writeText('/etc/rancher/node/password', password + '\n', 0o600)
  }
  // A server with etcd data starts its member before anything reads the cluster's objects (k3s starts its
  // datastore before the apiserver); a new HA server starts it once admitted, below.
  const etcd = {
    name,
    first,
    kubeDir: dataDir,
    nodePath,
    pidFile: nodePath('/run/lab-units/k3s.service.pid'),
    log: (msg) => journal('error', msg)
  }
  let etcdUp = false
  if (role === 'server' && existsSync(nodePath(`${ETCD_DATA}/member`))) {
    try {
      await serveK3sEtcd(etcd)
      etcdUp = true
    } catch (e) {
      journal('fatal', `starting kubernetes: preparing server: start managed database: ${e.message}`)
      return 'fatal'
    }
  }
  const outcome = await updateCluster(serverIp, (cluster) => {
    if (first) {
      if (!token) return { state: 'fatal', msg: 'token is required: set token or token-file' }
      // The datastore lives on the first server's disk: one that lost it (reflashed) starts a new cluster.
      if (cluster.token && readText(DATASTORE_ID)?.trim() !== cluster.id) Object.assign(cluster, emptyCluster())
      if (!cluster.token) {
        cluster.id = randomUUID()
        cluster.token = token.includes('::server:') ? token.split('::server:')[1] : token
        cluster.fullToken = `K10${sha(`ca ${cluster.token}`)}::server:${cluster.token}`
        createApiData(dataDir, version, ip)
        writeText(DATASTORE_ID, cluster.id + '\n', 0o600)
      } else if (!tokenMatches(token, cluster)) {
        return {
          state: 'fatal',
          msg: 'starting kubernetes: preparing server: bootstrap data already found and encrypted with different token'
        }
      }
      cluster.ha = config['cluster-init'] === true
      cluster.config = {
        clusterCidr: config['cluster-cidr'] ?? '10.42.0.0/16',
        serviceCidr: config['service-cidr'] ?? '10.43.0.0/16',
        flannelBackend: config['flannel-backend'] ?? 'vxlan',
        disable: config.disable ?? []
      }
      corePods(dataDir, cluster, name)
    } else if (!cluster.token || !existsSync(dataDir)) {
      return {
        state: 'waiting',
        msg: `Waiting to retrieve agent configuration; server is not ready: Get \\"https://${serverIp}:6443/v1-k3s/serving-kubelet.crt\\": dial tcp ${serverIp}:6443: connect: connection refused`
      }
    } else if (!tokenMatches(token, cluster)) {
      return {
        state: 'waiting',
        msg: `Waiting to retrieve agent configuration; server is not ready: failed to retrieve configuration from server: https://${serverIp}:6443/v1-k3s/config: 401 Unauthorized`
      }
    }
    // The node password: the server keeps its hash as a Secret, like k3s's node-password controller.
    const secret = `${name}.node-password.k3s`
    const kept = readState(dataDir).objects[secretKey(secret)]
    const hash = b64(sha(password))
    if (kept && kept.data?.hash !== hash) return { state: 'waiting', msg: PASSWORD_REJECTED }
    const state = readState(dataDir)
    const nodes = Object.keys(state.objects).filter((k) => k.startsWith('/nodes//'))
    const previous = state.objects[nodeKey(name)]
    const cidr = String(cluster.config.clusterCidr ?? '10.42.0.0/16').split('.')
    updateState(dataDir, (s) => {
      if (!kept)
        put(s, secretKey(secret), {
          apiVersion: 'v1',
          kind: 'Secret',
          type: 'k3s.cattle.io/node-password',
          metadata: { name: secret, namespace: 'kube-system' },
          data: { hash }
        })
    })
    registerNode(dataDir, {
      name,
      ip,
      roles: [],
      labels: labelsOf(config, role, cluster.ha, name),
      ready: !notReady(name),
      kubeletVersion: version,
      osImage: 'Armbian 25.8.1 bookworm',
      kernelVersion: '6.1.115-vendor-rk35xx',
      containerRuntime: 'containerd://1.7.23-k3s2',
      podCIDR: previous?.spec?.podCIDR ?? `${cidr[0]}.${cidr[1]}.${nodes.length}.0/24`
    })
    // k3s keeps EtcdIsVoter on each server of an embedded-etcd cluster.
    if (role === 'server' && cluster.ha) setEtcdVoter(dataDir, name, true)
    return { state: 'ready', fullToken: cluster.fullToken, ha: cluster.ha === true }
  })
  if (outcome.state === 'fatal') {
    journal('fatal', outcome.msg)
    return 'fatal'
  }
  if (outcome.state === 'waiting') {
    journal('info', outcome.msg)
    return 'waiting'
  }
  if (role === 'server' && outcome.ha && !etcdUp) {
    // Embedded etcd (lab/etcd): a real member on this node; the cluster's ConfigMaps live there from now on.
    try {
      const member = await serveK3sEtcd(etcd)
      if (first) writeBootstrap(member.clientUrl, outcome.fullToken)
    } catch (e) {
      journal('fatal', `starting kubernetes: preparing server: start managed database: ${e.message}`)
      return 'fatal'
    }
  }
  if (role === 'server') {
    writeText('/var/lib/rancher/k3s/server/token', outcome.fullToken + '\n', 0o600)
    const caPem = readFileSync(join(dataDir, 'apiserver.crt'), 'utf8')
    writeText('/etc/rancher/k3s/k3s.yaml', kubeconfig(caPem, readState(dataDir).token), 0o600)
  }
  journal('info', role === 'server' ? 'k3s is up and running' : `Successfully registered node ${name}`)
  return 'ready'
}
