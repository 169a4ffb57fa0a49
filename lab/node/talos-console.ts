// Talos console lines (real-samples C1, C5) and a console-only Talos personality: the default until
// lab/talos registers its own (same name) that also serves the Talos API on 50000.
import { DDR_LINES, LOADER_AFTER_DDR_MS, LOADER_LINES, KERNEL_LINES } from './boot-log.js'
import type { DiskInfo, NodeRuntime, OsPersonality, PersonalityFactory } from './personality.js'

const MAINT = '{"component": "controller-runtime", "controller": "runtime.MaintenanceServiceController"}'

function stamp(seconds: number): string {
  return `[${seconds.toFixed(6).padStart(12, ' ')}]`
}

export function talosMaintenanceLines(ip: string, fingerprint: string, t = 9.851478): string {
  const lines = [
    `[talos] entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}`,
    `[talos] this machine is reachable at: ${MAINT}`,
    `[talos]  ${ip} ${MAINT}`,
    `[talos] server certificate issued {"component": "controller-runtime", "controller": "runtime.MaintenanceServiceController", "fingerprint": "${fingerprint}"}`,
    `[talos] upload configuration using talosctl: ${MAINT}`,
    `[talos]  talosctl apply-config --insecure --nodes ${ip} --file <config.yaml> ${MAINT}`
  ]
  return lines.map((l, i) => `${stamp(t + i * 0.0013)} ${l}\r\n`).join('')
}

export function talosReadyLine(t = 252.832068): string {
  return `${stamp(t)} [talos] machine is running and ready {"component": "controller-runtime", "controller": "runtime.MachineStatusController"}\r\n`
}

export interface TalosMarker {
  os: 'talos'
  version: string
  schematicId: string
}

export async function readTalosMarker(disk: DiskInfo): Promise<TalosMarker | undefined> {
  if (!disk.partitions.some((p) => p.name === 'META')) return undefined
  const raw = await disk.readFile('/lab-talos.json', 'META')
  try {
    return raw ? (JSON.parse(raw.toString()) as TalosMarker) : undefined
  } catch {
    return undefined
  }
}

class TalosConsole implements OsPersonality {
  name = 'talos'
  detect = async (disk: DiskInfo): Promise<boolean> => (await readTalosMarker(disk)) !== undefined
  async boot(node: NodeRuntime): Promise<void> {
    const step = Math.max(1, Math.floor(node.bootDelayMs / 3))
    const ddrGap = Math.min(step, LOADER_AFTER_DDR_MS)
    node.uart(DDR_LINES)
    await node.sleep(ddrGap)
    node.uart(LOADER_LINES + KERNEL_LINES)
    await node.sleep(2 * step - ddrGap)
    node.claimAddress(undefined)
    node.uart(talosMaintenanceLines(node.dhcpIp ?? node.host, 'lab-console-only-no-api'))
  }
  async stop(): Promise<void> {
    /* nothing runs: console only */
  }
}

export const talosConsolePersonality: PersonalityFactory = {
  name: 'talos-console',
  detect: async (disk) => (await readTalosMarker(disk)) !== undefined,
  create: () => new TalosConsole()
}
