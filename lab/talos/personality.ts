// The Talos personality of a simulated RK1: a disk carrying the lab Talos image boots to the console lines
// of real-samples C1 (maintenance, no config yet) or C5 (configured: "machine is running and ready"), and
// serves the emulated Talos API (lib/node-api.mjs) on <node>:50000. An apply that installs or needs a
// reboot reboots the node: the API goes away, the UART shows the boot again, the API comes back.
import { DDR_LINES, KERNEL_LINES, LOADER_LINES } from '../node/boot-log.js'
import type { NodeRuntime, OsPersonality, PersonalityFactory } from '../node/personality.js'
import { readTalosMarker, talosMaintenanceLines, talosReadyLine } from '../node/talos-console.js'
import { TalosNodeApi } from './lib/index.mjs'

export interface TalosPersonalityOptions {
  /** Called when a node bootstraps etcd (the lab may start a Kubernetes API). */
  onBootstrap?(api: TalosNodeApi, node: NodeRuntime): void | Promise<void>
  /** A node of a cluster reached "running" (to register it with a Kubernetes API). */
  onRunning?(api: TalosNodeApi, node: NodeRuntime): void
  kubeconfig?(api: TalosNodeApi): string | undefined
  /** The node's API stopped (power off, reboot). */
  /** how: 'reboot' when the node goes down in order (its services stopped gracefully), else power lost. */
  onStop?(api: TalosNodeApi, node: NodeRuntime, how?: 'reboot'): void
}

const stamp = (t: number): string => `[${t.toFixed(6).padStart(12, ' ')}]`

class TalosNode implements OsPersonality {
  name = 'talos'
  private api: TalosNodeApi | undefined
  private node: NodeRuntime | undefined
  private clock = 9.8
  private lanIp = ''
  private stopped = false

  constructor(private readonly o: TalosPersonalityOptions) {}

  detect = async (): Promise<boolean> => true

  private line(text: string): void {
    this.clock += 0.0013
    this.node?.uart(`${stamp(this.clock)} ${text}\r\n`)
  }

  async boot(node: NodeRuntime): Promise<void> {
    this.node = node
    const marker = await readTalosMarker(node.disk)
    const step = Math.max(1, Math.floor(node.bootDelayMs / 3))
    node.uart(DDR_LINES)
    await node.sleep(step)
    node.uart(LOADER_LINES + KERNEL_LINES)
    await node.sleep(step)
    const api: TalosNodeApi = new TalosNodeApi({
      host: node.host,
      port: 50000,
      stateDir: node.rootDir,
      version: marker?.version ?? 'v1.9.0',
      schematicId: marker?.schematicId,
      lanIp: () => this.lanIp,
      uart: (l) => this.line(l),
      onReboot: () => void this.reboot(),
      onBootstrap: (a) => this.o.onBootstrap?.(a, node),
      // A live change of what the node runs (upgrade-k8s): its kubelet registers again.
      onChange: (a) => this.o.onRunning?.(a, node),
      kubeconfig: (a) => this.o.kubeconfig?.(a)
    })
    this.api = api
    if (api.configured) {
      // The installed system brings up the static address of its config (DHCP when it sets none).
      this.lanIp = api.staticIp ?? node.dhcpIp ?? node.host
      node.claimAddress(api.staticIp)
      await api.start()
      this.clock = 252.83
      node.uart(`${talosReadyLine(this.clock)}`)
      this.o.onRunning?.(api, node)
    } else {
      this.lanIp = node.dhcpIp ?? node.host
      node.claimAddress(undefined)
      await api.start()
      node.uart(talosMaintenanceLines(this.lanIp, 'lab-maintenance-service-certificate'))
    }
  }

  /** Install/reboot: API down, the boot again on the console, API up in the new state. */
  private async reboot(): Promise<void> {
    const node = this.node
    const api = this.api
    if (!node || !api || this.stopped) return
    this.line(
      '[talos] rebooting node {"component": "controller-runtime", "controller": "runtime.MachineStatusController"}'
    )
    await api.stop()
    this.api = undefined
    this.o.onStop?.(api, node, 'reboot')
    try {
      await node.sleep(Math.max(1, Math.floor(node.bootDelayMs / 3)))
      if (!this.stopped) await this.boot(node)
    } catch {
      // Power went away during the reboot: the node stays off.
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    const api = this.api
    this.api = undefined
    await api?.stop()
    if (api && this.node) this.o.onStop?.(api, this.node)
  }
}

export function talosPersonality(options: TalosPersonalityOptions = {}): PersonalityFactory {
  return {
    name: 'talos',
    detect: async (disk) => (await readTalosMarker(disk)) !== undefined,
    create: () => new TalosNode(options)
  }
}
