import { copyFile, cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { ARMBIAN_KERNEL } from '../images/build.js'
import { fsSpec, rootPartition } from '../images/disk.js'
import { mustRun } from '../images/run-tool.js'
import { armbianLogin, DDR_LINES, KERNEL_LINES, LOADER_AFTER_DDR_MS, LOADER_LINES } from './boot-log.js'
import type { DiskInfo, NodeRuntime, OsPersonality, PersonalityFactory } from './personality.js'
import {
  exited,
  killNodeProcesses,
  NODE_BIN,
  readText,
  runInNode,
  startNodeSsh,
  type NodeSsh,
  type SshFaults
} from './ssh-server.js'

export interface ArmbianHooks {
  sshPort: number
  pathDirs: () => string[]
  faults: SshFaults
  onSsh?: (ssh: NodeSsh | undefined) => void
  share?: string
  tag: string // TPI_LAB_NODE_TAG: every process the node starts carries it
  npuDriver: () => string | undefined // RKNPU driver version of the kernel, undefined: a kernel without it
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

const exists = (p: string): Promise<boolean> =>
  stat(p).then(
    () => true,
    () => false
  )

// Host files a dynamically linked host binary needs once the node's /etc hides the host's.
async function seedHostEtc(etc: string): Promise<void> {
  for (const f of ['ld.so.cache', 'passwd', 'group', 'nsswitch.conf']) {
    if (!(await exists(join(etc, f)))) await copyFile(join('/etc', f), join(etc, f)).catch(() => undefined)
  }
  if (!(await exists(join(etc, 'alternatives'))))
    await cp('/etc/alternatives', join(etc, 'alternatives'), { recursive: true, verbatimSymlinks: true }).catch(
      () => undefined
    )
}

// Node facts a real RK1 exposes under /proc, /sys and /dev, kept in the node's /run/lab-debug (shown at
// /sys/kernel/debug) and /run/lab-dri (a render node at /dev/dri) by enter.sh. Without the driver
// (npuDriver undefined: a mainline kernel) neither exists.
export async function writeFacts(root: string, npuDriver: string | undefined): Promise<void> {
  await rm(join(root, 'run/lab-debug/rknpu'), { recursive: true, force: true })
  await rm(join(root, 'run/lab-dri'), { recursive: true, force: true })
  await mkdir(join(root, 'etc'), { recursive: true })
  if (npuDriver) {
    await mkdir(join(root, 'run/lab-debug/rknpu'), { recursive: true })
    await mkdir(join(root, 'run/lab-dri'), { recursive: true })
    await writeFile(join(root, 'run/lab-debug/rknpu/version'), `RKNPU driver: ${npuDriver}\n`)
    await writeFile(join(root, 'run/lab-dri/renderD129'), '')
  }
  const npu = npuDriver
    ? `RKNPU_VERSION=${npuDriver.replace(/^v/, '')}\nRENDER_NODE=/dev/dri/renderD129\n`
    : 'RKNPU_VERSION=\nRENDER_NODE=\n'
  await writeFile(
    join(root, 'etc/lab-facts'),
    `KERNEL_RELEASE=${ARMBIAN_KERNEL}\nMACHINE=aarch64\nMODEL=Turing Machines RK1\n${npu}`
  )
}

class Armbian implements OsPersonality {
  name = 'armbian'
  detect = detectArmbian
  private ssh: NodeSsh | undefined
  private root: string | undefined
  constructor(private hooks: ArmbianHooks) {}

  async boot(node: NodeRuntime): Promise<void> {
    const step = Math.max(1, Math.floor(node.bootDelayMs / 4))
    const ddrGap = Math.min(step, LOADER_AFTER_DDR_MS)
    node.uart(DDR_LINES)
    await node.sleep(ddrGap)
    node.uart(LOADER_LINES)
    await node.sleep(2 * step - ddrGap)
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
    await writeFacts(root, this.hooks.npuDriver())
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
      host: node.host,
      port: this.hooks.sshPort,
      hostKey,
      rootDir: root,
      hostname,
      authorizedKeys: () => readText(join(root, 'root/.ssh/authorized_keys')),
      pathDirs: [NODE_BIN, ...this.hooks.pathDirs()],
      faults: this.hooks.faults,
      share: this.hooks.share,
      tag: this.hooks.tag
    })
    this.root = root
    this.hooks.onSsh?.(this.ssh)
    node.claimAddress(staticIpOf(presets))
    // systemd brings up the enabled units (k3s, rkllama) before the console's login prompt.
    if (await exists(join(root, 'var/lib/lab/enabled'))) {
      await runInNode(
        {
          host: node.host,
          pathDirs: [NODE_BIN, ...this.hooks.pathDirs()],
          share: this.hooks.share,
          tag: this.hooks.tag,
          rootDir: root,
          hostname: hostname()
        },
        'systemctl lab-boot >/dev/null 2>&1'
      )
    }
    node.uart(armbianLogin(hostname()))
  }

  async stop(): Promise<void> {
    const s = this.ssh
    this.ssh = undefined
    this.hooks.onSsh?.(undefined)
    await s?.close()
    // Everything the node ran dies with it: services systemctl started detached (rkllama, by pid file
    // and process group) and any other process carrying the node's tag. No unit is active afterwards.
    const units = this.root ? await killUnits(join(this.root, 'run/lab-units')) : []
    await exited([...units, ...killNodeProcesses(this.hooks.tag)])
    if (this.root)
      for (const d of ['active', 'failed'])
        await rm(join(this.root, 'var/lib/lab', d), { recursive: true, force: true })
  }
}

/** SIGKILLs each unit's process group (pid files); returns the pids. */
async function killUnits(dir: string): Promise<number[]> {
  const files = await readdir(dir).catch(() => [] as string[])
  const pids: number[] = []
  for (const f of files.filter((n) => n.endsWith('.pid'))) {
    const pid = Number((await readFile(join(dir, f), 'utf8').catch(() => '')).trim())
    if (pid > 1) {
      pids.push(pid)
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          /* already gone */
        }
      }
    }
    await rm(join(dir, f), { force: true })
  }
  return pids
}

export async function detectArmbian(disk: DiskInfo): Promise<boolean> {
  return /BOARD=turing-rk1/.test((await disk.readFile('/etc/armbian-release'))?.toString() ?? '')
}

export function armbianPersonality(hooks: ArmbianHooks): PersonalityFactory {
  return {
    name: 'armbian',
    detect: detectArmbian,
    create: () => new Armbian(hooks)
  }
}
