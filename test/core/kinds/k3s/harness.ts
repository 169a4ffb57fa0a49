// Nodes for the K3s phase tests without booting them: each node is a folder whose etc, var, usr/local,
// run and sys/module are bind-mounted over the real ones in a private mount namespace (unshare, as root),
// so the phases' real bash scripts and the k3s stand-ins (lab/k3s) run unchanged. Shells are local (no
// SSH); the connector enforces pinned host keys with the adapter's own error, and faults (a dropped
// connection, a changed host key) can be injected per node.
// Why not the lab (lab/node, as test/lab/k3s/sim-cluster.test.ts uses it): a lab node must be flashed
// with a built Armbian image and booted through the BMC emulator before a phase can talk to it, which
// costs seconds per node and test; these tests start from a given node state (swap on, a package
// installed, a changed host key) and read back what the phase left (calls, files), which the
// harness-bin programs record in the same lab-calls.jsonl format as lab/node/bin. What the lab checks
// end to end (SSH, boot, the bundle) is covered by test/lab/k3s and test/e2e.
import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { HostKeyMismatchError } from '../../../../src/adapters/ssh/ssh2-open.js'
import type { ExecOptions, ExecResult, RemoteShell, SshConnector } from '../../../../src/adapters/ssh/types.js'
import type { ArtifactRequest, CachedArtifact, Downloads } from '../../../../src/adapters/downloads/types.js'
import type { NodeSpec } from '../../../../src/core/config/model.js'
import type { Deps } from '../../../../src/core/deps.js'
import { INSTALL_STANDIN, k3sStandinBinary } from '../../../../lab/k3s/binary.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'

const BIN = fileURLToPath(new URL('./harness-bin', import.meta.url))
const STANDINS = fileURLToPath(new URL('../../../../lab/k3s/standins', import.meta.url))
const MOUNTED = ['etc', 'var', 'usr/local', 'run', 'sys/module', 'opt'] as const

export interface HarnessNode {
  spec: NodeSpec
  root: string
  hostKey: string
  execs: number
  /** The node's loopback address (what the lab maps its LAN address to). */
  addr: string
  /** Fails the next exec whose script matches with a dropped connection (exit 255). */
  dropOn?: RegExp
}

export interface Harness {
  labDir: string
  nodes: Map<string, HarnessNode>
  deps: Deps
  downloads: { requests: ArtifactRequest[]; bytes: number }
  /** RKNPU driver facts: version file and render node under /run (see NPU_TEST_PATHS), or none. */
  setNpu(id: string, driver: string | undefined): void
  /** A shell on the node through the harness's connector, as a phase would open it. */
  shell(id: string): Promise<RemoteShell>
  /** Simulates a reflash: the node's disk is blank again and it has a new host key. */
  reflash(id: string): void
  calls(id: string, cmd?: string): { cmd: string; args: string[] }[]
  starts(id: string): number
  file(id: string, path: string): string | undefined
  stop(): void
}

/** Where the harness puts the NPU facts (real nodes: DEFAULT_NPU_PATHS). */
export const NPU_TEST_PATHS = { versionFile: '/run/lab-debug/rknpu/version', driDir: '/run/lab-dri' }

function prepareRoot(root: string, hostname: string): void {
  for (const dir of MOUNTED) mkdirSync(join(root, dir), { recursive: true })
  for (const f of ['passwd', 'group', 'ld.so.cache', 'nsswitch.conf'])
    if (existsSync(`/etc/${f}`)) cpSync(`/etc/${f}`, join(root, 'etc', f))
  if (existsSync('/etc/alternatives'))
    cpSync('/etc/alternatives', join(root, 'etc/alternatives'), { recursive: true, verbatimSymlinks: true })
  writeFileSync(join(root, 'etc/hostname'), 'turing-rk1\n')
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tturing-rk1\n')
  writeFileSync(join(root, 'etc/fstab'), 'UUID=abcd / ext4 defaults 0 1\n')
  mkdirSync(join(root, 'usr/local/bin'), { recursive: true })
  void hostname
}

function newHostKey(): string {
  return `SHA256:${createHash('sha256').update(randomBytes(32)).digest('base64').replace(/=+$/, '')}`
}

class LocalShell implements RemoteShell {
  constructor(
    private readonly node: HarnessNode,
    private readonly labDir: string
  ) {}

  private local(path: string): string {
    if (!MOUNTED.some((m) => path === `/${m}` || path.startsWith(`/${m}/`)))
      throw new Error(`harness: ${path} is outside the node root`)
    return join(this.node.root, path)
  }

  exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.node.execs++
    if (this.node.dropOn?.test(script)) {
      this.node.dropOn = undefined
      return Promise.resolve({
        stdout: '',
        stderr: `\nSSH connection to node ${this.node.spec.id} was lost while the command ran`,
        code: 255
      })
    }
    const mounts = MOUNTED.map((m) => `mount --bind ${join(this.node.root, m)} /${m}`).join(' && ')
    const env = {
      PATH: `${BIN}:${STANDINS}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${dirname(process.execPath)}`,
      // Not /root: bash sources ~/.bashrc when its stdin is a socket (as under sshd), and the host's would change PATH.
      HOME: '/var/lib/lab-home',
      LANG: 'C.UTF-8',
      TPI_LAB_DIR: this.labDir,
      TPI_NODE_ADDR: this.node.addr
    }
    return new Promise((resolve) => {
      const child = spawn(
        'unshare',
        [
          '--mount',
          '--propagation',
          'private',
          '--',
          'bash',
          '-c',
          `${mounts} && exec bash -c "$1"`,
          '_',
          `set -eu\n${script}`
        ],
        { env }
      )
      const out: Buffer[] = []
      const err: Buffer[] = []
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
      child.stdout.on('data', (c: Buffer) => out.push(c))
      child.stderr.on('data', (c: Buffer) => err.push(c))
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? 124 })
      })
      // A command that exits before reading its stdin (install.sh refusing at once) closes the pipe first:
      // EPIPE then only means it did not read it, as an SSH exec would not care either.
      child.stdin.on('error', () => {})
      child.stdin.end(options.stdin ?? '')
    })
  }

  async put(path: string, data: Buffer | string | Readable, options: { mode: number; owner?: string }): Promise<void> {
    const chunks: Buffer[] = []
    if (data instanceof Readable) for await (const c of data) chunks.push(Buffer.from(c as Buffer))
    else chunks.push(Buffer.from(data))
    const file = this.local(path)
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, Buffer.concat(chunks))
    chmodSync(file, options.mode)
  }

  async get(path: string): Promise<Buffer> {
    return readFileSync(this.local(path))
  }

  async close(): Promise<void> {}
}

function artifactContent(request: ArtifactRequest, cache: string): string | Buffer {
  if (request.tool === 'k3s') return k3sStandinBinary(`v${request.version.replace(/-k3s/, '+k3s')}`)
  if (request.tool === 'k3s-install') return readFileSync(INSTALL_STANDIN, 'utf8')
  if (request.tool === 'rkllama') {
    // A source tarball with one top folder, as GitHub's archive endpoint serves it.
    const src = join(cache, 'src', `rkllama-${request.version}`)
    mkdirSync(src, { recursive: true })
    writeFileSync(join(src, 'setup.py'), '# rkllama lab source\n')
    execFileSync('tar', ['-czf', `${src}.tar.gz`, '-C', join(cache, 'src'), `rkllama-${request.version}`])
    return readFileSync(`${src}.tar.gz`)
  }
  return `${request.tool} ${request.version} (lab bytes)\n`
}

/**
 * Each harness gets its own loopback network, 127.11.<net>.<slot>: HA servers run real etcd members on
 * the node's address with etcd's fixed ports (2379/2380), so two harnesses on one address (two jest
 * workers, or two harnesses in one file) would take each other's ports. Jest workers get 16 nets each.
 */
let harnesses = 0
function harnessNet(): number {
  const worker = Number(process.env.JEST_WORKER_ID ?? '1')
  return ((worker - 1) * 16 + (harnesses++ % 16)) % 256
}

export function startHarness(nodes: NodeSpec[], extra: Partial<Deps> = {}): Harness {
  const net = harnessNet()
  const base = mkdtempSync(join(tmpdir(), 'tpi-k3s-lab-'))
  const labDir = join(base, 'lab')
  mkdirSync(labDir)
  const map = new Map<string, HarnessNode>()
  for (const spec of nodes) {
    const root = join(base, 'nodes', spec.id)
    prepareRoot(root, spec.hostname)
    map.set(spec.id, { spec, root, hostKey: newHostKey(), execs: 0, addr: `127.11.${net}.${spec.slot}` })
  }
  const byIp = new Map([...map.values()].map((n) => [n.spec.ip, n]))
  const byAddr = new Map([...map.values()].map((n) => [n.addr, n]))
  const downloads = { requests: [] as ArtifactRequest[], bytes: 0 }
  const cache = join(base, 'cache')
  mkdirSync(cache)
  const fakeDownloads: Downloads = {
    async fetch(request) {
      downloads.requests.push(request)
      const path = join(cache, `${request.tool}-${request.version}`)
      const content = artifactContent(request, cache)
      const downloaded = !existsSync(path)
      writeFileSync(path, content, { mode: 0o755 })
      if (downloaded) downloads.bytes += content.length
      const result: CachedArtifact = {
        path,
        sha256: createHash('sha256').update(content).digest('hex'),
        bytes: content.length,
        downloaded
      }
      return result
    }
  }
  const ssh: SshConnector = {
    async connect(target) {
      const node = byAddr.get(target.host)
      if (!node) throw new Error(`harness: no node at ${target.host}`)
      if (target.hostKeyFingerprint && target.hostKeyFingerprint !== node.hostKey)
        throw new HostKeyMismatchError(target.node, target.hostKeyFingerprint, node.hostKey)
      return { shell: new LocalShell(node, labDir), hostKeyFingerprint: node.hostKey }
    },
    probe: async () => 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'
  }
  const deps: Deps = {
    bmc: () => Promise.reject(new Error('no BMC in the k3s harness')),
    ssh,
    net: { map: (host, port) => ({ host: byIp.get(host)?.addr ?? host, port }) },
    downloads: fakeDownloads,
    exec: () => Promise.reject(new Error('no local exec in the k3s harness')),
    ...plainAdapters(createLocalExec()),
    sleep: () => Promise.resolve(),
    ...extra
  }
  const node = (id: string): HarnessNode => {
    const n = map.get(id)
    if (!n) throw new Error(`harness: no node ${id}`)
    return n
  }
  return {
    labDir,
    nodes: map,
    deps,
    downloads,
    setNpu(id, driver) {
      const n = node(id)
      rmSync(join(n.root, 'run/lab-debug'), { recursive: true, force: true })
      rmSync(join(n.root, 'run/lab-dri'), { recursive: true, force: true })
      if (!driver) return
      mkdirSync(join(n.root, 'run/lab-debug/rknpu'), { recursive: true })
      writeFileSync(join(n.root, 'run/lab-debug/rknpu/version'), `RKNPU driver: ${driver}\n`)
      mkdirSync(join(n.root, 'run/lab-dri'), { recursive: true })
      writeFileSync(join(n.root, 'run/lab-dri/renderD129'), '')
    },
    async shell(id) {
      const n = node(id)
      const target = { node: id, host: n.addr, port: 22, user: 'root', privateKey: 'x' }
      return (await ssh.connect(target)).shell
    },
    reflash(id) {
      const n = node(id)
      rmSync(n.root, { recursive: true, force: true })
      prepareRoot(n.root, n.spec.hostname)
      n.hostKey = newHostKey()
    },
    calls(id, cmd) {
      const text = existsSync(join(node(id).root, 'var/log/lab-calls.jsonl'))
        ? readFileSync(join(node(id).root, 'var/log/lab-calls.jsonl'), 'utf8')
        : ''
      const all = text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { cmd: string; args: string[] })
      return cmd ? all.filter((c) => c.cmd === cmd) : all
    },
    starts(id) {
      const file = join(node(id).root, 'var/lib/rancher/k3s/.standin-starts')
      return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0
    },
    file(id, path) {
      const file = join(node(id).root, path)
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined
    },
    stop() {
      for (const n of map.values()) {
        const units = join(n.root, 'run/lab-units')
        if (!existsSync(units)) continue
        for (const f of readdirSync(units).filter((f) => f.endsWith('.pid'))) {
          try {
            process.kill(Number(readFileSync(join(units, f), 'utf8')), 'SIGKILL')
          } catch {}
        }
      }
      rmSync(base, { recursive: true, force: true })
    }
  }
}
