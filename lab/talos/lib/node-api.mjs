// The emulated Talos node API on <node>:50000. A lab simplification: HTTP/JSON over loopback instead of
// gRPC over mutual TLS. Requests are POST /<operation> with a JSON body; the caller says how it
// authenticates in headers: `x-talos-insecure: 1` (the maintenance service, no client certificate) or
// `x-talos-ca: <sha256 of the talosconfig CA>` (stands for a client certificate signed by that CA).
// Errors come back as {error: {code, desc}} and the stand-in prints them as gRPC errors.
// State (configured or not, the config, etcd data) is persisted in the node's state folder, which a
// reflash wipes.
import { createServer } from 'node:http'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join as pathJoin } from 'node:path'
import { splitConfig } from './docs.mjs'
import { canonical, lineDiff, needsReboot } from './diff.mjs'
import { caFingerprint } from './pki.mjs'
import * as registry from './cluster.mjs'
import { validateConfig } from './validate.mjs'
import {
  bootstrapEtcd,
  etcdAtBoot,
  etcdMembers,
  etcdRunning,
  etcdService,
  etcdSnapshot,
  joinOthers,
  stopEtcd
} from './etcd-ops.mjs'
import { resetNode } from './reset.mjs'
import * as upgrades from './upgrade.mjs'

// Image Factory's schematic without customizations (what a plain siderolabs installer image is).
const DEFAULT_SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'

const DISKS = [
  { id: 'loop0', size: '75 MB', readOnly: true, transport: '' },
  { id: 'mmcblk0', size: '31 GB', readOnly: false, transport: 'mmc', model: '', serial: '0x3b5c1a2e' },
  {
    id: 'nvme0n1',
    size: '1.0 TB',
    readOnly: false,
    transport: 'nvme',
    model: 'Samsung SSD 980 1TB',
    serial: 'S649NL0T123456'
  }
]

const HEALTH_CHECKS = [
  'waiting for etcd to be healthy',
  'waiting for etcd members to be consistent across nodes',
  'waiting for etcd members to be control plane nodes',
  'waiting for apid to be ready',
  'waiting for all nodes memory sizes',
  'waiting for all nodes disk sizes',
  'waiting for kubelet to be healthy',
  'waiting for all nodes to finish boot sequence',
  'waiting for all k8s nodes to report',
  'waiting for all k8s nodes to report ready',
  'waiting for all control plane static pods to be running',
  'waiting for all control plane components to be ready',
  'waiting for kube-proxy to report ready',
  'waiting for coredns to report ready',
  'waiting for all k8s nodes to report schedulable'
]

const rpc = (code, desc) => ({ error: { code, desc } })
const TLS_REQUIRED = rpc(
  'Unavailable',
  'connection error: desc = "transport: authentication handshake failed: remote error: tls: certificate required"'
)
const TLS_UNKNOWN = rpc(
  'Unavailable',
  'connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"'
)

export class TalosNodeApi {
  /**
   * @param o.host loopback address (127.10.b.s); o.port (50000); o.stateDir (wiped on reflash)
   * @param o.version Talos version the disk holds; o.schematicId the Image Factory schematic it was built from
   *   (an upgrade replaces both); o.lanIp() the LAN address the node has now
   * @param o.uart(text) console output; o.onReboot() asks the personality to reboot the node
   * @param o.onBootstrap(api) called once when this node bootstraps etcd (the lab starts the Kubernetes API)
   * @param o.kubeconfig(api) kubeconfig text for this cluster (undefined: a self-made one with the cluster CA)
   */
  constructor(o) {
    this.o = o
    this.dir = pathJoin(o.stateDir, 'talos')
    this.stage = 'booting'
    this.server = undefined
    this.sockets = new Set()
    this.state = this.load()
  }

  load() {
    try {
      return JSON.parse(readFileSync(pathJoin(this.dir, 'state.json'), 'utf8'))
    } catch {
      return { config: undefined, staged: undefined, etcd: false, applies: 0 }
    }
  }

  save() {
    mkdirSync(this.dir, { recursive: true })
    const tmp = pathJoin(this.dir, 'state.json.tmp')
    writeFileSync(tmp, JSON.stringify(this.state, null, 2))
    renameSync(tmp, pathJoin(this.dir, 'state.json'))
  }

  get configured() {
    return this.state.config !== undefined
  }
  get version() {
    return this.state.upgraded?.version ?? this.o.version
  }
  get schematicId() {
    return this.state.upgraded?.schematicId ?? this.o.schematicId
  }
  get main() {
    return this.configured ? splitConfig(this.state.config).main : undefined
  }
  get role() {
    return this.main?.machine?.type
  }
  get clusterId() {
    return this.main?.cluster?.id
  }
  get hostname() {
    return (
      this.main?.machine?.network?.hostname ??
      splitConfig(this.state.config ?? '').typed.find((d) => d.kind === 'HostnameConfig')?.hostname ??
      `talos-${this.o.host.split('.').slice(2).join('-')}`
    )
  }
  /** The static address the config sets on its first interface, else undefined (DHCP). */
  get staticIp() {
    return this.main?.machine?.network?.interfaces?.[0]?.addresses?.[0]?.split('/')[0]
  }
  /** A control plane whose etcd member holds data and runs (etcd-ops.mjs). */
  hasEtcd() {
    return this.role === 'controlplane' && this.state.etcd === true && etcdRunning(this)
  }
  notReady() {
    return existsSync(pathJoin(this.dir, 'not-ready'))
  }

  async start() {
    if (upgrades.halted(this)) return
    if (this.configured) {
      registry.join(this.clusterId, this.o.lanIp(), this)
    }
    this.server = createServer((req, res) => this.handle(req, res))
    this.server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
    await new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.o.port ?? 50000, this.o.host, resolve)
    })
    this.stage = this.configured ? 'running' : 'maintenance'
    // etcd starts on its data, or a control plane of a bootstrapped cluster joins it (etcd-ops.mjs).
    this.etcdBoot = etcdAtBoot(this)
  }

  async stop() {
    if (this.configured) registry.leave(this.clusterId, this.o.lanIp(), this)
    await stopEtcd(this)
    this.stage = 'booting'
    const s = this.server
    this.server = undefined
    if (!s) return
    for (const sock of this.sockets) sock.destroy()
    await new Promise((resolve) => s.close(() => resolve()))
  }

  handle(req, res) {
    let body = ''
    req.on('data', (d) => {
      body += d
    })
    req.on('end', async () => {
      let answer
      try {
        const input = body ? JSON.parse(body) : {}
        answer = await this.dispatch(req.url.replace(/^\//, ''), input, req.headers)
      } catch (e) {
        answer = rpc('Internal', e.message)
      }
      res.writeHead(answer.error ? 400 : 200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(answer))
    })
  }

  /** Authentication as apid does it: maintenance = insecure only; configured = client cert of the machine CA. */
  auth(headers, allowInsecure) {
    const insecure = headers['x-talos-insecure'] === '1'
    if (!this.configured)
      return insecure && allowInsecure
        ? undefined
        : insecure
          ? rpc('Unimplemented', 'this API is not available in maintenance mode')
          : TLS_UNKNOWN
    if (insecure) return TLS_REQUIRED
    return headers['x-talos-ca'] === caFingerprint(this.main.machine.ca.crt) ? undefined : TLS_UNKNOWN
  }

  dispatch(op, input, headers) {
    const denied = this.auth(headers, op === 'disks' || op === 'apply' || op === 'version')
    if (denied) return denied
    switch (op) {
      case 'version':
        return { tag: this.version, configured: this.configured }
      // Factory images carry a virtual extension named "schematic" whose version is the schematic id.
      case 'extensions':
        return { extensions: this.schematicId ? [{ name: 'schematic', version: this.schematicId }] : [] }
      case 'upgrade':
        return upgrades.upgrade(this, input)
      case 'bootid':
        return upgrades.bootId(this)
      case 'etcdstatus':
        return upgrades.etcdStatus(this)
      case 'kubernetes':
        return upgrades.lowestKubernetes(this)
      case 'upgradek8s':
        return upgrades.upgradeK8s(this, input)
      case 'disks':
        return { disks: DISKS }
      case 'machinestatus':
        return this.machineStatus()
      // The MachineConfig resource: the config as the node holds it; its version counts the applies.
      case 'machineconfig':
        return { config: this.state.config, version: this.state.applies ?? 1 }
      case 'apply':
        return this.apply(input)
      case 'bootstrap':
        return this.bootstrap(input)
      case 'etcdSnapshot':
        return etcdSnapshot(this)
      case 'etcdMembers':
        return etcdMembers(this)
      case 'service':
        return input.id === 'etcd' ? etcdService(this) : rpc('NotFound', `service "${input.id}" not found`)
      case 'reset':
        return resetNode(this, input)
      case 'health':
        return this.health(input)
      case 'kubeconfig':
        return this.kubeconfig()
      default:
        return rpc('Unimplemented', `unknown method ${op}`)
    }
  }

  machineStatus() {
    const unmet = []
    if (this.configured && !registry.bootstrapped(this.clusterId))
      unmet.push({ name: 'etcd', reason: 'service "etcd" is not running' })
    if (this.notReady()) unmet.push({ name: 'kubelet', reason: 'service "kubelet" is not healthy' })
    return { stage: this.stage, ready: this.stage === 'running' && unmet.length === 0, unmetConditions: unmet }
  }

  apply({ config, mode = 'auto', dryRun = false }) {
    const problems = validateConfig(config, 'metal')
    const disk = splitConfig(config).main?.machine?.install?.disk
    if (disk && !DISKS.some((d) => `/dev/${d.id}` === disk && !d.readOnly))
      problems.push(`specified install disk does not exist: "${disk}"`)
    if (problems.length)
      return rpc(
        'InvalidArgument',
        `configuration validation failed: ${problems.length} error${problems.length > 1 ? 's' : ''} occurred:\n\t* ${problems.join('\n\t* ')}\n\n`
      )
    if (!this.configured) {
      // Maintenance: the config is taken, Talos installs to the disk and boots the installed system.
      if (dryRun)
        return {
          message: `Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\n${lineDiff('', config) || 'No changes.'}`
        }
      this.state = { config, staged: undefined, etcd: false, applies: 1 }
      this.save()
      this.o.uart(
        '[talos] apply config request: immediate true, on reboot false {"component": "controller-runtime", "controller": "runtime.MaintenanceServiceController"}'
      )
      setTimeout(() => this.o.onReboot('install'), 5)
      return { message: 'Applied configuration without a reboot' }
    }
    const diff = lineDiff(this.state.config, config)
    const reboot = diff !== '' && needsReboot(this.state.config, config)
    if (dryRun) {
      const details =
        mode === 'staged'
          ? 'Staged configuration to be applied after a reboot'
          : reboot || mode === 'reboot'
            ? 'Applied configuration with a reboot'
            : 'Applied configuration without a reboot'
      return {
        message: `Dry run summary:\n${details} (skipped in dry-run).\n\nConfig diff:\n\n${diff || 'No changes.'}`
      }
    }
    if (mode === 'staged') {
      this.state.staged = config
      this.save()
      return { message: 'Staged configuration to be applied after a reboot' }
    }
    if (reboot && (mode === 'no-reboot' || mode === 'try'))
      return rpc('InvalidArgument', `apply config request: mode ${mode}: the configuration change requires a reboot`)
    if (canonical(this.state.config) !== canonical(config)) {
      if (splitConfig(config).main?.cluster?.id !== this.clusterId)
        return rpc('InvalidArgument', 'configuration validation failed: cluster ID cannot be changed')
      this.state.config = config
      this.state.applies++
      this.save()
      this.o.uart(
        `[talos] apply config request: immediate ${!reboot}, on reboot ${reboot} {"component": "controller-runtime", "controller": "runtime.MachineStatusController"}`
      )
    }
    if (reboot || mode === 'reboot') {
      setTimeout(() => this.o.onReboot('config'), 5)
      return { message: 'Applied configuration with a reboot' }
    }
    return { message: 'Applied configuration without a reboot' }
  }

  /**
   * talosctl upgrade --image: the installer image names the version (tag) and, from the factory, the
   * schematic (metal-installer/<id>); a plain siderolabs installer is the default schematic. The machine
   * config stays as it is; the node reboots into the new system.
   */
  upgrade({ image }) {
    const version = /:(v\d+\.\d+\.\d+[^:/]*)$/.exec(image ?? '')?.[1]
    if (!version) return rpc('InvalidArgument', `invalid installer image reference: "${image}"`)
    const schematicId = /^factory\.talos\.dev\/[a-z-]*installer\/([0-9a-f]{64}):/.exec(image)?.[1] ?? DEFAULT_SCHEMATIC
    this.state.upgraded = { version, schematicId }
    this.save()
    this.o.uart(`[talos] upgrade request received: "${image}"`)
    setTimeout(() => this.o.onReboot('upgrade'), 5)
    return { ack: 'Upgrade request received' }
  }

  async bootstrap({ recoverFrom, recoverSkipHashCheck } = {}) {
    if (this.role !== 'controlplane') return rpc('FailedPrecondition', 'bootstrap is not available on worker nodes')
    if (this.stage !== 'running')
      return rpc('Unavailable', 'connection error: desc = "transport: error while dialing: connection refused"')
    if (this.state.etcd) return rpc('AlreadyExists', 'etcd data directory is not empty')
    if (registry.bootstrapped(this.clusterId))
      return rpc('FailedPrecondition', 'etcd is already bootstrapped on another control plane node')
    for (const l of [
      'bootstrap request received',
      'service[etcd](Finished): Bootstrap requested',
      'service[etcd](Starting): Starting service'
    ])
      this.o.uart(`[talos] ${l}`)
    // A real etcd member (etcd-ops.mjs); the other control planes join it.
    const done = await bootstrapEtcd(this, { recoverFrom, skipHashCheck: recoverSkipHashCheck === true })
    if (done.error) return done
    // The lab may start services (the Kubernetes API) before the client hears back; then the others join.
    await this.o.onBootstrap?.(this)
    joinOthers(this)
    return {}
  }

  /** One status per health check, in talosctl's order; the first failing one carries the error. */
  health({ controlPlanes = [], workers = [] }) {
    const members = registry.clusterOf(this.clusterId).members
    const want = [...controlPlanes, ...workers]
    const missing = want.filter((ip) => !members.has(ip))
    const cpsWithoutEtcd = controlPlanes.filter((ip) => !members.get(ip)?.hasEtcd())
    const notReady = want.filter((ip) => members.get(ip)?.notReady()).map((ip) => members.get(ip).hostname)
    const fail = {
      'waiting for etcd to be healthy': cpsWithoutEtcd.length
        ? `etcd is not running on ${cpsWithoutEtcd.join(', ')}`
        : undefined,
      'waiting for all nodes to finish boot sequence': missing.length
        ? `node ${missing[0]}: connection refused`
        : undefined,
      'waiting for all k8s nodes to report': missing.length
        ? `can't find expected node with IPs [${missing.map((ip) => `"${ip}"`).join(' ')}]`
        : undefined,
      'waiting for all k8s nodes to report ready': notReady.length
        ? `some nodes are not ready: [${notReady.join(' ')}]`
        : undefined
    }
    return { discovered: want, checks: HEALTH_CHECKS.map((name) => ({ name, error: fail[name] })) }
  }

  kubeconfig() {
    if (this.role !== 'controlplane')
      return rpc('PermissionDenied', 'kubeconfig is only available on control plane nodes')
    if (!registry.bootstrapped(this.clusterId))
      return rpc('FailedPrecondition', 'kubeconfig is not available yet: etcd is not bootstrapped')
    const custom = this.o.kubeconfig?.(this)
    if (custom) return { kubeconfig: custom }
    const m = this.main
    const name = m.cluster.clusterName
    return {
      kubeconfig: [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '    - name: ' + name,
        '      cluster:',
        `        server: ${m.cluster.controlPlane.endpoint}`,
        `        certificate-authority-data: ${m.cluster.ca.crt}`,
        'users:',
        `    - name: admin@${name}`,
        '      user:',
        `        client-certificate-data: ${Buffer.from(`lab-admin-crt-${m.cluster.secret}`).toString('base64')}`,
        `        client-key-data: ${Buffer.from(`lab-admin-key-${m.cluster.secret}`).toString('base64')}`,
        'contexts:',
        `    - context:`,
        `        cluster: ${name}`,
        '        namespace: default',
        `        user: admin@${name}`,
        `      name: admin@${name}`,
        `current-context: admin@${name}`,
        ''
      ].join('\n')
    }
  }
}

export { HEALTH_CHECKS }
