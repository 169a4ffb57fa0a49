// Checkpoints in state-dir, so a failed run can simply be re-run and pick up where it stopped. One JSON
// file per cluster, written atomically (temp file + rename) with mode 0600: it holds host key
// fingerprints and hashes, never secrets (credentials live in the run's temp dir, state/credentials.ts).
//
// Two runs may share a state file: a deploy reads it again once it holds the board lock (reload), and
// every save merges what this run changed into what is on disk now, so a run that waited for the lock,
// or a drift run beside a deploy, never writes back a stale copy over another run's host keys and
// flash records.
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

  /** What was on disk when last read or written: the base that tells this run's changes from others'. */
  private base: ClusterState = empty()

  static async open(stateDir: string, clusterName: string): Promise<StateStore> {
    const dir = join(stateDir, clusterName)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const file = join(dir, 'state.json')
    const data = await readState(file)
    const store = new StateStore(file, data)
    store.base = clone(data)
    return store
  }

  /** Reads the file again (a deploy, once it holds the board lock); drops nothing this run changed. */
  async reload(): Promise<void> {
    merge(this.data as unknown as Json, this.base as unknown as Json, (await readState(this.file)) as unknown as Json)
    this.base = clone(this.data)
  }

  get dir(): string {
    return this.file.slice(0, -'/state.json'.length)
  }

  node(id: string): NodeState {
    return (this.data.nodes[id] ??= { phases: {} })
  }

  /** Ids of every node this state has a record of (deployed before, whether or not still in the file). */
  nodeIds(): string[] {
    return Object.keys(this.data.nodes)
  }

  /** Drops a node's record (a node removed from the cluster). */
  async forget(id: string): Promise<void> {
    delete this.data.nodes[id]
    await this.save()
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

  /** Saves of this store run one after another: each merges against what the previous one wrote. */
  private saving: Promise<void> = Promise.resolve()

  save(): Promise<void> {
    const next = this.saving.then(() => this.saveNow())
    this.saving = next.catch(() => undefined)
    return next
  }

  private async saveNow(): Promise<void> {
    // What another run wrote since we read the file stays; what this run changed wins.
    const disk = await readState(this.file)
    merge(this.data as unknown as Json, this.base as unknown as Json, disk as unknown as Json)
    const text = JSON.stringify(this.data, null, 2) + '\n'
    // Changes made while the write is in flight differ from this base, so they stay this run's.
    this.base = JSON.parse(text) as ClusterState
    // A unique temp name per call: concurrent saves (pipelined nodes) must not rename each other's file.
    const tmp = `${this.file}.${randomUUID()}.tmp`
    await writeFile(tmp, text, { mode: 0o600 })
    await rename(tmp, this.file)
  }
}

type Json = Record<string, unknown>

const empty = (): ClusterState => ({ version: 1, nodes: {}, cluster: {} })
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v)
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

async function readState(file: string): Promise<ClusterState> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ClusterState
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    return empty()
  }
}

/**
 * Three-way merge in place, key by key at every object level: where `mem` still equals `base` (this
 * run did not touch it) it takes `disk` (another run's write, or a deletion); where it differs, it
 * keeps this run's value. Objects are merged in place so references the phases hold stay live.
 */
function merge(mem: Json, base: Json | undefined, disk: Json | undefined): void {
  for (const key of new Set([...Object.keys(mem), ...Object.keys(base ?? {}), ...Object.keys(disk ?? {})])) {
    const m = mem[key]
    const b = base?.[key]
    const d = disk?.[key]
    if (isObject(m) && isObject(d) && (b === undefined || isObject(b))) {
      merge(m, b, d)
      continue
    }
    if (!same(m, b)) continue
    if (d === undefined) delete mem[key]
    else mem[key] = clone(d)
  }
}
