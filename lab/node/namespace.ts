// One namespace per booted node, set up once: enter.sh --hold does the ~27 mounts and stays alive as the
// namespace's anchor; each SSH exec enters it with nsenter (no mount at all). A real node has one mount
// table too, so nothing gets more lenient: what an exec mounts, the next one sees, as on the hardware.
// The namespace is rebuilt when what enter.sh decided from changes (the hostname, the node's facts: the
// RKNPU driver and the NVMe drive), and dies with the node (its anchor carries the node's tag).
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'

export interface Anchor {
  pid: number
  /** What enter.sh exports to a command: PATH with the stand-in folders, the lab folder. */
  env: Record<string, string>
}

interface Held extends Anchor {
  key: string
  child: ChildProcess
}

export interface NodeNamespaceOptions {
  rootDir: string
  enterScript: string
  env: () => NodeJS.ProcessEnv
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

export class NodeNamespace {
  private held: Held | undefined
  private starting: Promise<Held | undefined> | undefined
  private closed = false

  constructor(private readonly o: NodeNamespaceOptions) {}

  /** The live anchor for this hostname and the node's current facts; undefined if none can be set up. */
  async anchor(hostname: string): Promise<Anchor | undefined> {
    if (this.closed) return undefined
    const key = `${hostname}\0${readOr(join(this.o.rootDir, 'etc/lab-facts'))}`
    for (;;) {
      if (this.starting) {
        await this.starting
        continue
      }
      if (this.held && this.held.key === key && this.held.child.exitCode === null && !this.held.child.killed)
        return this.held
      this.drop()
      this.starting = this.start(hostname, key)
      const got = await this.starting
      this.starting = undefined
      // Powered off while the anchor was being set up: it must not outlive the node (its enter.sh would
      // recreate folders in a root a reflash has just removed).
      if (this.closed) {
        if (got && got.child.exitCode === null) got.child.kill('SIGKILL')
        return undefined
      }
      this.held = got
      return got
    }
  }

  /**
   * The argv of an exec inside the anchor's namespace, in the anchor's working directory (the node's
   * /root): a path given to --wd would be resolved in the host's mount table, not the node's.
   */
  static execArgs(anchor: Anchor, command: string): string[] {
    return ['--target', String(anchor.pid), '--user', '--mount', '--uts', '--wd', '--', '/bin/bash', '-c', command]
  }

  /** The node powered off: the anchor goes, and none is set up again. */
  close(): void {
    this.closed = true
    this.drop()
  }

  drop(): void {
    const held = this.held
    this.held = undefined
    if (held && held.child.exitCode === null) held.child.kill('SIGKILL')
  }

  private start(hostname: string, key: string): Promise<Held | undefined> {
    return new Promise((resolve) => {
      const child = spawn(
        'unshare',
        [
          '--user',
          '--map-root-user',
          '--mount',
          '--uts',
          'bash',
          this.o.enterScript,
          this.o.rootDir,
          hostname,
          '--hold'
        ],
        { env: this.o.env(), stdio: ['pipe', 'pipe', 'ignore'] }
      )
      let out = ''
      const fail = (): void => resolve(undefined)
      child.on('error', fail)
      child.on('exit', fail)
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8')
        const line = out.split('\n')
        if (line.length < 2) return
        const [word, path, labDir] = line[0].split('\t')
        if (word !== 'ready' || !child.pid) return fail()
        const env: Record<string, string> = {
          HOME: '/root',
          USER: 'root',
          LOGNAME: 'root',
          TPI_NODE_ROOT: '/',
          PATH: path,
          ...(labDir ? { TPI_LAB_DIR: labDir } : {})
        }
        resolve({ pid: child.pid, env, key, child })
      })
    })
  }
}
