import { copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { ARMBIAN_KERNEL } from '../images/build.js'
import { fsSpec, rootPartition } from '../images/disk.js'
import { mustRun } from '../images/run-tool.js'
import { armbianLogin, DDR_LINES, KERNEL_LINES, LOADER_LINES } from './boot-log.js'
import type { DiskInfo, NodeRuntime, OsPersonality, PersonalityFactory } from './personality.js'
import { NODE_BIN, readText, startNodeSsh, type NodeSsh } from './ssh-server.js'

export interface ArmbianHooks {
  sshPort: number
  pathDirs: () => string[]
  faults: { dropNextExec: boolean; dropAfterMs?: number }
  onSsh?: (ssh: NodeSsh | undefined) => void
  share?: string
}

// Armbian first-boot presets (/root/.not_logged_in_yet): KEY=value or KEY="value".
export function parsePresets(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Z_]+)=["']?(.*?)["']?\s*$/.exec(line)
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

export function staticIpOf(presets: Record<string, string>): string | undefined {
  if (presets.PRESET_NET_CHANGE_DEFAULTS !== '1' || presets.PRESET_NET_USE_STATIC !== '1') return undefined
  return presets.PRESET_NET_STATIC_IP || undefined
}

// ssh2's ed25519 generator yields a key its own parser rejects about once in 200 tries: retry until valid.
export function validEd25519(): { private: string; public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519')
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error)) return pair
  }
}

const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false)

// Host files a dynamically linked host binary needs once the node's /etc hides the host's.
async function seedHostEtc(etc: string): Promise<void> {
  for (const f of ['ld.so.cache', 'passwd', 'group', 'nsswitch.conf']) {
    if (!(await exists(join(etc, f)))) await copyFile(join('/etc', f), join(etc, f)).catch(() => undefined)
  }
  if (!(await exists(join(etc, 'alternatives')))) await cp('/etc/alternatives', join(etc, 'alternatives'), { recursive: true, verbatimSymlinks: true }).catch(() => undefined)
}

// Node facts a real RK1 exposes under /proc, /sys and /dev, at paths a mount namespace can provide.
async function writeFacts(root: string): Promise<void> {
  await mkdir(join(root, 'run/lab-debug/rknpu'), { recursive: true })
  await mkdir(join(root, 'run/lab-dri'), { recursive: true })
  await writeFile(join(root, 'run/lab-debug/rknpu/version'), 'RKNPU driver: v0.9.8\n')
  await writeFile(join(root, 'run/lab-dri/renderD129'), '')
  await writeFile(join(root, 'etc/lab-facts'), `KERNEL_RELEASE=${ARMBIAN_KERNEL}\nMACHINE=aarch64\nMODEL=Turing Machines RK1\nRKNPU_VERSION=0.9.8\nRENDER_NODE=/dev/dri/renderD129\n`)
}

class Armbian implements OsPersonality {
  name = 'armbian'
  detect = detectArmbian
  private ssh: NodeSsh | undefined
  private root: string | undefined
  constructor(private hooks: ArmbianHooks) {}

  async boot(node: NodeRuntime): Promise<void> {
    const step = Math.max(1, Math.floor(node.bootDelayMs / 4))
    node.uart(DDR_LINES)
    await node.sleep(step)
    node.uart(LOADER_LINES)
    await node.sleep(step)
    node.uart(KERNEL_LINES)
    const root = node.rootDir
    if (!(await exists(join(root, '.lab-extracted')))) {
      const part = await rootPartition(node.disk.path)
      if (!part) throw new Error(`disk ${node.disk.path} lost its partition table during boot`)
      await mkdir(root, { recursive: true })
      await mustRun('debugfs', ['-R', `rdump / ${root}`, fsSpec(node.disk.path, part)])
      await writeFile(join(root, '.lab-extracted'), '')
    }
    await seedHostEtc(join(root, 'etc'))
    await writeFacts(root)
    const keyPath = join(root, 'etc/ssh/ssh_host_ed25519_key')
    let hostKey = await readFile(keyPath, 'utf8').catch(() => '')
    if (!hostKey || ssh2.utils.parseKey(hostKey) instanceof Error) {
      // First boot without an injected host key: generate one, kept until the next flash.
      const pair = validEd25519()
      await mkdir(join(root, 'etc/ssh'), { recursive: true })
      await writeFile(keyPath, pair.private, { mode: 0o600 })
      await writeFile(`${keyPath}.pub`, pair.public + '\n')
      hostKey = pair.private
    }
    const hostname = (): string => readText(join(root, 'etc/hostname')).trim() || 'turing-rk1'
    const presets = parsePresets(readText(join(root, 'root/.not_logged_in_yet')))
    await node.sleep(step)
    this.ssh = await startNodeSsh({
      host: node.host, port: this.hooks.sshPort, hostKey, rootDir: root, hostname,
      authorizedKeys: () => readText(join(root, 'root/.ssh/authorized_keys')),
      pathDirs: [NODE_BIN, ...this.hooks.pathDirs()], faults: this.hooks.faults, share: this.hooks.share,
    })
    this.root = root
    this.hooks.onSsh?.(this.ssh)
    node.claimAddress(staticIpOf(presets))
    node.uart(armbianLogin(hostname()))
  }

  async stop(): Promise<void> {
    const s = this.ssh
    this.ssh = undefined
    this.hooks.onSsh?.(undefined)
    await s?.close()
    // Services systemctl started in the background (rkllama) die with the node, like at power off.
    if (this.root) await killUnits(join(this.root, 'run/lab-units'))
  }
}

async function killUnits(dir: string): Promise<void> {
  const files = await readdir(dir).catch(() => [] as string[])
  for (const f of files.filter((n) => n.endsWith('.pid'))) {
    const pid = Number((await readFile(join(dir, f), 'utf8').catch(() => '')).trim())
    if (pid > 1) { try { process.kill(-pid, 'SIGKILL') } catch { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } } }
    await rm(join(dir, f), { force: true })
  }
}

export async function detectArmbian(disk: DiskInfo): Promise<boolean> {
  return /BOARD=turing-rk1/.test((await disk.readFile('/etc/armbian-release'))?.toString() ?? '')
}

export function armbianPersonality(hooks: ArmbianHooks): PersonalityFactory {
  return {
    name: 'armbian',
    detect: detectArmbian,
    create: () => new Armbian(hooks),
  }
}
