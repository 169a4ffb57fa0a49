import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ssh2 from 'ssh2'
import type { Connection, ParsedKey } from 'ssh2'
import { NodeNamespace } from './namespace.js'

const here = dirname(fileURLToPath(import.meta.url))
export const ENTER_SCRIPT = join(here, 'enter.sh')
export const NODE_BIN = join(here, 'bin')
// Resolved on the host: an exec's PATH is the node's.
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter'].find((p) => existsSync(p)) ?? 'nsenter'
// Host folders a node must still see at their own paths: the checkout (the k3s, kubectl and NPU
// stand-in wrappers name their scripts by absolute path) and the node binary they exec. A checkout in
// /tmp or /opt would otherwise vanish behind the node's own /tmp or /opt.
const KEEP = [join(here, '..', '..'), dirname(process.execPath)]

/** SSH faults of a node (SimNode.faults.ssh). */
export interface SshFaults {
  dropNextExec: boolean
  dropAfterMs?: number
  /**
   * Drops the connection of the next exec whose command matches `command`: at once, or when its output
   * so far (stdout and stderr) matches `output`. Cleared when it fires. Unlike dropNextExec, the command
   * and every process it started die with the connection, so the node is left as the drop left it.
   */
  dropWhen?: { command: RegExp; output?: RegExp }
}

export interface NodeSshOptions {
  host: string
  port: number
  hostKey: string // OpenSSH private key
  rootDir: string
  hostname: () => string
  authorizedKeys: () => string // contents of the node's /root/.ssh/authorized_keys
  pathDirs: string[] // stand-in dirs first on PATH inside the node
  faults: SshFaults
  share?: string // host folder shared by all nodes of the lab (the k3s store), /run/lab-share inside
  tag: string // TPI_LAB_NODE_TAG of every process the node runs: killNodeProcesses(tag) at power off
}

/** The environment of a command run inside a node (enter.sh's inputs). */
export function nodeEnv(
  o: Pick<NodeSshOptions, 'host' | 'pathDirs' | 'share' | 'tag'>,
  extra: Record<string, string> = {}
): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...extra,
    LAB_NODE_PATH: [...o.pathDirs, dirname(process.execPath)].join(':'),
    LAB_HOST_KEEP: KEEP.join(':'),
    TPI_NODE_ADDR: o.host,
    TPI_LAB_NODE_TAG: o.tag,
    ...(o.share ? { LAB_SHARE: o.share } : {})
  }
}

/** Runs a command inside a node (its namespace, as an SSH exec does); resolves with its exit code. */
export function runInNode(
  o: Pick<NodeSshOptions, 'host' | 'pathDirs' | 'share' | 'tag' | 'rootDir'> & { hostname: string },
  command: string
): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(
      'unshare',
      ['--user', '--map-root-user', '--mount', '--uts', 'bash', ENTER_SCRIPT, o.rootDir, o.hostname, command],
      { env: nodeEnv(o), stdio: 'ignore' }
    )
    child.on('error', () => resolve(127))
    child.on('close', (code) => resolve(code ?? 1))
  })
}

/**
 * Kills every process started inside a node (SSH execs, services systemctl ran detached and whatever
 * they started): they all carry the node's TPI_LAB_NODE_TAG in their environment, which even a
 * setsid'd or re-parented process keeps.
 */
export function killNodeProcesses(tag: string): number[] {
  return killTagged('TPI_LAB_NODE_TAG', tag)
}

/** True while a process exists and has not exited (a zombie has: it only waits for its parent to reap it). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/**
 * Waits until the processes have exited. SIGKILL is delivered asynchronously: on a loaded machine a killed
 * process can still run for a moment, and a board that lost power runs nothing at all.
 */
export async function exited(pids: number[], timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (pids.some(running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
}

/** SIGKILLs every process (but this one) whose environment has name=value; returns their pids. */
function killTagged(name: string, value: string): number[] {
  const needle = Buffer.from(`\0${name}=${value}\0`)
  const killed: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    let environ: Buffer
    try {
      environ = readFileSync(`/proc/${entry}/environ`)
    } catch {
      continue
    } // gone, or not ours to read
    if (!Buffer.concat([Buffer.from([0]), environ]).includes(needle)) continue
    try {
      process.kill(Number(entry), 'SIGKILL')
      killed.push(Number(entry))
    } catch {
      /* already gone */
    }
  }
  return killed
}

export interface NodeSsh {
  close(): Promise<void>
  dropAll(): void
}

function allowedKeys(text: string): ParsedKey[] {
  const keys: ParsedKey[] = []
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue
    const k = ssh2.utils.parseKey(line.trim())
    if (!(k instanceof Error)) keys.push(Array.isArray(k) ? k[0]! : k)
  }
  return keys
}

// The node's sshd: public-key auth for root against the node's authorized_keys; exec runs real bash in
// the node's namespace (enter.sh).
export async function startNodeSsh(o: NodeSshOptions): Promise<NodeSsh> {
  const namespace = new NodeNamespace({ rootDir: o.rootDir, enterScript: ENTER_SCRIPT, env: () => nodeEnv(o) })
  const conns = new Set<Connection>()
  const children = new Set<ChildProcess>()
  // Set at power-off: an exec still waiting for its namespace then never starts (the node is off).
  let closed = false
  const server = new ssh2.Server({ hostKeys: [o.hostKey], ident: 'OpenSSH_9.2p1 Debian-2+deb12u7' }, (client) => {
    conns.add(client)
    // Small packets (exit status, EOF, close) go out at once: with Nagle each exec waited on delayed ACKs.
    const tcp = client as unknown as { setNoDelay(noDelay: boolean): void } // ssh2 has it; @types/ssh2 does not
    tcp.setNoDelay(true)
    client.on('close', () => conns.delete(client))
    client.on('error', () => conns.delete(client))
    client.on('authentication', (ctx) => {
      if (ctx.username !== 'root' || ctx.method !== 'publickey') return ctx.reject(['publickey'])
      const key = allowedKeys(o.authorizedKeys()).find(
        (k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data)
      )
      if (!key) return ctx.reject(['publickey'])
      if (!ctx.signature) return ctx.accept() // key probe: this key would be accepted
      if (ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept()
      return ctx.reject(['publickey'])
    })
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession()
        const env: Record<string, string> = {}
        session.on('env', (accept, _reject, info) => {
          env[info.key] = info.val
          accept?.()
        })
        session.on('exec', async (accept, _reject, info) => {
          const stream = accept()
          const when = o.faults.dropWhen?.command.test(info.command) ? o.faults.dropWhen : undefined
          if (when && !when.output) {
            // Dropped as the command arrives: none of it runs (a started command could outrun the kill).
            if (o.faults.dropWhen === when) o.faults.dropWhen = undefined
            client.end()
            return
          }
          // Every process of an exec the fault targets carries its own tag, so the drop can end them all.
          const execTag = when ? randomUUID() : undefined
          const hostname = o.hostname()
          const anchor = await namespace.anchor(hostname)
          if (closed) {
            client.end()
            return
          }
          const execEnv = nodeEnv(o, execTag ? { ...env, TPI_LAB_EXEC_TAG: execTag } : env)
          // Without an anchor (it could not be set up), the exec builds its own namespace as before.
          const child = anchor
            ? spawn(NSENTER, NodeNamespace.execArgs(anchor, info.command), {
                env: { ...execEnv, ...anchor.env },
                stdio: ['pipe', 'pipe', 'pipe']
              })
            : spawn(
                'unshare',
                [
                  '--user',
                  '--map-root-user',
                  '--mount',
                  '--uts',
                  'bash',
                  ENTER_SCRIPT,
                  o.rootDir,
                  hostname,
                  info.command
                ],
                { env: execEnv, stdio: ['pipe', 'pipe', 'pipe'] }
              )
          children.add(child)
          stream.pipe(child.stdin)
          child.stdout.pipe(stream, { end: false })
          child.stderr.pipe(stream.stderr, { end: false })
          const drop = (): void => {
            child.kill('SIGKILL')
            client.end()
          }
          if (o.faults.dropNextExec) {
            o.faults.dropNextExec = false
            setTimeout(drop, o.faults.dropAfterMs ?? 0)
          }
          if (when && execTag) {
            let fired = false
            const cut = (): void => {
              if (fired) return
              fired = true
              if (o.faults.dropWhen === when) o.faults.dropWhen = undefined
              client.end()
              // Processes forked while a pass ran are caught by the next one (bounded: a dying process may still be listed).
              for (let pass = 0; pass < 5 && killTagged('TPI_LAB_EXEC_TAG', execTag).length > 0; pass++);
            }
            let seen = ''
            const watch = (chunk: Buffer): void => {
              seen += chunk.toString('utf8')
              if (when.output!.test(seen)) cut()
            }
            child.stdout.on('data', watch)
            child.stderr.on('data', watch)
          }
          child.on('close', (code, signal) => {
            children.delete(child)
            if (!stream.writable) return
            if (signal) stream.exit(signal.replace(/^SIG/, ''), false, '')
            else stream.exit(code ?? 0)
            stream.end()
          })
        })
        session.on('sftp', (accept) => {
          void import('./sftp.js').then((m) => m.serveSftp(accept(), o.rootDir))
        })
      })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const dropAll = (): void => {
    for (const c of children) c.kill('SIGKILL')
    for (const c of conns) c.end()
  }
  return {
    dropAll,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true
        dropAll()
        namespace.close()
        server.close(() => resolve())
      })
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}
