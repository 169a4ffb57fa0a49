// `k3s server` and `k3s agent` in the lab: read config.yaml and the token file, check the token and the
// node password like k3s does, register the node in the shared cluster store and write the files a real
// server writes (server/token, k3s.yaml). Rejections are logged with k3s's own wording.
import { createHash, randomBytes } from 'node:crypto'
import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { nodeIdentity, nodePath, readText, updateCluster, writeText } from './store.mjs'

const sha = (text) => createHash('sha256').update(text).digest('hex')

/** journald-style line into /var/log/k3s.log (the lab's journal) and stderr. */
export function journal(level, msg) {
  const now = new Date()
  const stamp = now.toUTCString().slice(8, 11) + ' ' + String(now.getUTCDate()).padStart(2, ' ') + ' ' + now.toISOString().slice(11, 19)
  const host = (readText('/etc/hostname') ?? 'localhost').trim()
  const line = `${stamp} ${host} k3s[${process.pid}]: time="${now.toISOString().slice(0, 19)}Z" level=${level} msg="${msg}"\n`
  const file = nodePath('/var/log/k3s.log')
  mkdirSync(dirname(file), { recursive: true })
  appendFileSync(file, line)
  process.stderr.write(line)
}

export const PASSWORD_REJECTED =
  "Waiting to retrieve agent configuration; server is not ready: Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag"

function kubeconfig(fullToken) {
  const fake = (what) => Buffer.from(`lab ${what} ${sha(fullToken + what).slice(0, 24)}`).toString('base64')
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${fake('ca')}
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
`
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
  journal('info', `Starting k3s ${role} ${version}`)
  mkdirSync(nodePath('/var/lib/rancher/k3s'), { recursive: true })
  appendFileSync(nodePath('/var/lib/rancher/k3s/.standin-starts'), `${new Date().toISOString()} ${role}\n`, { flag: 'a' })
  let password = readText('/etc/rancher/node/password')?.trim()
  if (!password) {
    password = randomBytes(16).toString('hex')
    writeText('/etc/rancher/node/password', password + '\n', 0o600)
  }
  const outcome = await updateCluster(serverIp, (cluster) => {
    if (first) {
      if (!token) return { state: 'fatal', msg: 'token is required: set token or token-file' }
      if (!cluster.token) {
        cluster.token = token.includes('::server:') ? token.split('::server:')[1] : token
        cluster.fullToken = `K10${sha(`ca ${cluster.token}`)}::server:${cluster.token}`
      } else if (!tokenMatches(token, cluster)) {
        return { state: 'fatal', msg: 'starting kubernetes: preparing server: bootstrap data already found and encrypted with different token' }
      }
      cluster.ha = config['cluster-init'] === true
      cluster.config = {
        clusterCidr: config['cluster-cidr'] ?? '10.42.0.0/16',
        serviceCidr: config['service-cidr'] ?? '10.43.0.0/16',
        flannelBackend: config['flannel-backend'] ?? 'vxlan',
        disable: config.disable ?? []
      }
    } else if (!cluster.token) {
      return { state: 'waiting', msg: `Waiting to retrieve agent configuration; server is not ready: Get \\"https://${serverIp}:6443/v1-k3s/serving-kubelet.crt\\": dial tcp ${serverIp}:6443: connect: connection refused` }
    } else if (!tokenMatches(token, cluster)) {
      return { state: 'waiting', msg: `Waiting to retrieve agent configuration; server is not ready: failed to retrieve configuration from server: https://${serverIp}:6443/v1-k3s/config: 401 Unauthorized` }
    }
    const secret = `${name}.node-password.k3s`
    if (cluster.secrets[secret] && cluster.secrets[secret] !== sha(password)) return { state: 'waiting', msg: PASSWORD_REJECTED }
    cluster.secrets[secret] = sha(password)
    const previous = cluster.nodes[name]
    cluster.nodes[name] = {
      role,
      ip,
      version,
      labels: { ...(previous?.labels ?? {}), ...labelsOf(config, role, cluster.ha, name) },
      created: previous?.created ?? new Date().toISOString(),
      started: new Date().toISOString()
    }
    return { state: 'ready', fullToken: cluster.fullToken }
  })
  if (outcome.state === 'fatal') {
    journal('fatal', outcome.msg)
    return 'fatal'
  }
  if (outcome.state === 'waiting') {
    journal('info', outcome.msg)
    return 'waiting'
  }
  if (role === 'server') {
    writeText('/var/lib/rancher/k3s/server/token', outcome.fullToken + '\n', 0o600)
    writeText('/etc/rancher/k3s/k3s.yaml', kubeconfig(outcome.fullToken), 0o600)
  }
  journal('info', role === 'server' ? 'k3s is up and running' : `Successfully registered node ${name}`)
  return 'ready'
}
