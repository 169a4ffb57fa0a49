// Checkpoints in state-dir, so a failed run can simply be re-run and pick up where it stopped. One JSON
// file per cluster, written atomically (temp file + rename) with mode 0600: it holds host key
// fingerprints and hashes, never secrets.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'

export interface NodeState {
  /** Phase name -> fingerprint of what was done (image hash, config hash, ...). */
  phases: Record<string, { at: string; fingerprint?: string }>
  /** SSH host key fingerprint recorded at first contact or injected into the image. */
  hostKey?: string
  [extra: string]: unknown
}

export interface ClusterState {
  version: 1
  nodes: Record<string, NodeState>
  cluster: Record<string, unknown>
}

export class StateStore {
  private constructor(
    readonly file: string,
    private data: ClusterState
  ) {}

  static async open(stateDir: string, clusterName: string): Promise<StateStore> {
    const dir = join(stateDir, clusterName)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, 'state.json')
    let data: ClusterState = { version: 1, nodes: {}, cluster: {} }
    try {
      data = JSON.parse(await readFile(file, 'utf8')) as ClusterState
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    return new StateStore(file, data)
  }

  get dir(): string {
    return this.file.slice(0, -'/state.json'.length)
  }

  node(id: string): NodeState {
    return (this.data.nodes[id] ??= { phases: {} })
  }

  cluster(): Record<string, unknown> {
    return this.data.cluster
  }

  done(id: string, phase: string): { at: string; fingerprint?: string } | undefined {
    return this.data.nodes[id]?.phases[phase]
  }

  async markDone(id: string, phase: string, fingerprint?: string): Promise<void> {
    this.node(id).phases[phase] = { at: new Date().toISOString(), ...(fingerprint ? { fingerprint } : {}) }
    await this.save()
  }

  async clear(id: string, phase?: string): Promise<void> {
    if (phase) delete this.node(id).phases[phase]
    else this.node(id).phases = {}
    await this.save()
  }

  async save(): Promise<void> {
    // A unique temp name per call: concurrent saves (pipelined nodes) must not rename each other's file.
    const tmp = `${this.file}.${randomUUID()}.tmp`
    await writeFile(tmp, JSON.stringify(this.data, null, 2) + '\n', { mode: 0o600 })
    await rename(tmp, this.file)
  }
}
