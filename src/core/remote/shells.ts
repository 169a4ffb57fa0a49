// SSH sessions to the nodes for one phase: host keys pinned from state (recorded at first contact),
// the private key from the settings' secrets, addresses through the address map. Every remote step
// goes through runChecked, which turns a failure into a PhaseError with the stderr tail.
import type { RemoteShell } from '../../adapters/ssh/types.js'
import type { NodeSpec } from '../config/model.js'
import { PhaseError, TpiError } from '../errors.js'
import type { PhaseContext } from '../phases/types.js'
import { parseResult, type ScriptResult } from './script.js'

export const RESUME = 're-run the same command; nodes that are already done are left untouched'

export function stderrTail(stderr: string, lines = 8): string {
  const tail = stderr.trim().split('\n').slice(-lines).join('\n')
  return tail ? `\n${tail}` : ' (no stderr)'
}

// StateStore.save writes one temp file per process; parallel saves would race on it, so they queue.
const saving = new WeakMap<object, Promise<void>>()
function saveQueued(state: PhaseContext['state']): Promise<void> {
  const next = (saving.get(state) ?? Promise.resolve()).then(() => state.save())
  saving.set(
    state,
    next.catch(() => undefined)
  )
  return next
}

// A read-only run (drift) shares one SSH connection per node across every module's pool: each module
// asked for its own before, so a node was logged into once per module. Keyed by the run's outputs.
const sharedShells = new WeakMap<object, Map<string, Promise<RemoteShell>>>()

/** Runs `fn` with one SSH connection per node shared by every pool of the run; closes them after. */
export async function withSharedShells<T>(ctx: PhaseContext, fn: () => Promise<T>): Promise<T> {
  const shells = new Map<string, Promise<RemoteShell>>()
  sharedShells.set(ctx.outputs, shells)
  try {
    return await fn()
  } finally {
    sharedShells.delete(ctx.outputs)
    await Promise.all(
      [...shells.values()].map(async (s) => (await s.catch(() => undefined))?.close().catch(() => undefined))
    )
  }
}

export class ShellPool {
  private readonly own = new Map<string, Promise<RemoteShell>>()

  private get shells(): Map<string, Promise<RemoteShell>> {
    return sharedShells.get(this.ctx.outputs) ?? this.own
  }

  constructor(
    private readonly ctx: PhaseContext,
    private readonly phase: string
  ) {}

  /** The run this pool serves (its observations are shared through it). */
  get context(): PhaseContext {
    return this.ctx
  }

  shell(node: NodeSpec): Promise<RemoteShell> {
    let shell = this.shells.get(node.id)
    if (!shell) {
      shell = this.open(node)
      this.shells.set(node.id, shell)
      shell.catch(() => this.shells.delete(node.id))
    }
    return shell
  }

  private async open(node: NodeSpec): Promise<RemoteShell> {
    const { cluster, settings, deps, state, reporter } = this.ctx
    const key = settings.secrets.sshPrivateKey
    if (!key)
      throw new PhaseError(
        this.phase,
        node.id,
        'no SSH private key was given',
        'set the ssh-private-key input (the key the image authorises) and re-run'
      )
    reporter.secret(key)
    const { port, user } = this.ctx.kind.sshLogin(cluster)
    const to = deps.net.map(node.ip, port)
    const pinned = state.node(node.id).hostKey
    try {
      const { shell, hostKeyFingerprint } = await deps.ssh.connect({
        node: node.id,
        host: to.host,
        port: to.port,
        user,
        privateKey: key,
        ...(pinned ? { hostKeyFingerprint: pinned } : {})
      })
      if (!pinned) {
        state.node(node.id).hostKey = hostKeyFingerprint
        await saveQueued(state)
        reporter.info(`${node.id}: recorded SSH host key ${hostKeyFingerprint} at first contact`)
      }
      return shell
    } catch (error) {
      const code = error instanceof TpiError ? error.code : 'SshConnectFailed'
      const seen = error instanceof Error ? error.message : String(error)
      const resume =
        code === 'HostKeyMismatch'
          ? 'check the node; if it was reflashed outside this action, remove its hostKey from the state file (or redeploy with reflash) and re-run'
          : RESUME
      throw new PhaseError(this.phase, node.id, seen, resume, { cause: error, code })
    }
  }

  async closeAll(): Promise<void> {
    // Shared connections are closed by withSharedShells, when the run is over.
    const all = [...this.own.values()]
    this.own.clear()
    await Promise.all(all.map(async (s) => (await s.catch(() => undefined))?.close().catch(() => undefined)))
  }
}

/** Runs a script and fails with its stderr tail when it exits non-zero. */
export async function runChecked(
  shell: RemoteShell,
  phase: string,
  node: NodeSpec,
  what: string,
  text: string,
  options: { stdin?: string | Buffer; timeoutMs?: number } = {}
): Promise<{ stdout: string; result?: ScriptResult }> {
  const out = await shell.exec(text, options)
  if (out.code !== 0)
    throw new PhaseError(phase, node.id, `${what} exited with ${out.code}:${stderrTail(out.stderr)}`, RESUME, {
      code: 'RemoteStepFailed'
    })
  const result = parseResult(out.stdout)
  return { stdout: out.stdout, ...(result ? { result } : {}) }
}

export async function withPool<T>(ctx: PhaseContext, phase: string, fn: (pool: ShellPool) => Promise<T>): Promise<T> {
  const pool = new ShellPool(ctx, phase)
  try {
    return await fn(pool)
  } finally {
    await pool.closeAll()
  }
}
