// What the K3s scenario suite looks at and does behind the action's back: a node's own files (its
// config.yaml, its k3s log, how often k3s started), the cluster as the runner's kubectl shows it with the
// kubeconfig the deploy uploaded, a NotReady fault, and a node whose SSH host key changes without a
// reflash. Every child process is asynchronous: the lab's servers live in the test's own event loop.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import ssh2 from 'ssh2'
import { decryptLabArtifact, type LabActionSetup } from '../../lab/action.js'
import type { Lab } from '../../lab/lab.js'
import { KUBECTL_STANDIN } from '../../lab/kube/binaries.js'
import { validEd25519 } from '../../lab/node/armbian.js'
import { setPower } from './helpers-drift.js'

const run = promisify(execFile)

/** A file in a node's root as the node sees it ('' when absent). */
export async function nodeFile(lab: Lab, board: number, slot: number, path: string): Promise<string> {
  return readFile(join(lab.node(board, slot).rootDir, path), 'utf8').catch(() => '')
}

/** How many times k3s (server or agent) started on the node: the stand-in appends a line per start. */
export async function k3sStarts(lab: Lab, board: number, slot: number): Promise<number> {
  return (await nodeFile(lab, board, slot, 'var/lib/rancher/k3s/.standin-starts')).split('\n').filter(Boolean).length
}

export interface KubeObject {
  metadata: { name: string; uid: string; labels?: Record<string, string> }
  status?: { conditions?: { type: string; status: string; reason?: string }[] }
  data?: Record<string, string>
}

/** `kubectl get <args> -o json` on the runner with the kubeconfig the last deploy uploaded, decrypted as a user would. */
export async function kubectlGet(
  lab: Lab,
  setup: LabActionSetup,
  artifact: string,
  args: string[]
): Promise<KubeObject & { items?: KubeObject[] }> {
  const kubeconfig = Object.values(await decryptLabArtifact(lab, setup, artifact))[0]!
  const path = join(lab.dir, `kubeconfig-${Date.now()}`)
  await writeFile(path, kubeconfig, { mode: 0o600 })
  try {
    const { stdout } = await run(
      process.execPath,
      [KUBECTL_STANDIN, 'get', ...args, '-o', 'json', '--kubeconfig', path],
      { env: { ...process.env, ...lab.env() } }
    )
    return JSON.parse(stdout) as KubeObject & { items?: KubeObject[] }
  } finally {
    await rm(path, { force: true })
  }
}

/** Keeps a node Ready=False (kubelet's "cni plugin not initialized") until `false` clears it (lab/k3s faults). */
export async function keepNotReady(lab: Lab, hostname: string, on: boolean): Promise<void> {
  const dir = join(lab.dir, 'share', 'k3s', 'faults')
  await mkdir(dir, { recursive: true })
  if (on) await writeFile(join(dir, `${hostname}.notready`), '')
  else await rm(join(dir, `${hostname}.notready`), { force: true })
}

/** OpenSSH's SHA256 fingerprint of a public key line ("ssh-ed25519 AAAA..."). */
export function fingerprintOf(publicKeyLine: string): string {
  const key = ssh2.utils.parseKey(publicKeyLine.trim())
  if (key instanceof Error) throw new Error(`not a public key: ${key.message}`)
  const blob = (Array.isArray(key) ? key[0]! : key).getPublicSSH()
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/**
 * Gives a node's sshd a new host key without a reflash (openssh-server reinstalled, keys regenerated,
 * or another machine answering on its address) and power-cycles it through the BMC API so sshd reads it.
 * Returns the fingerprints of the key it had and the one it presents now.
 */
export async function replaceHostKey(
  lab: Lab,
  board: number,
  slot: number
): Promise<{ before: string; after: string }> {
  const node = lab.node(board, slot)
  const key = join(node.rootDir, 'etc/ssh/ssh_host_ed25519_key')
  const before = fingerprintOf(await readFile(`${key}.pub`, 'utf8'))
  const pair = validEd25519()
  await writeFile(key, pair.private, { mode: 0o600 })
  await writeFile(`${key}.pub`, pair.public + '\n')
  const bmc = lab.boards[board]!.bmc
  await setPower(bmc, slot, false)
  await node.waitFor('off', 20_000)
  await setPower(bmc, slot, true)
  await node.waitFor('up', 20_000)
  return { before, after: fingerprintOf(pair.public) }
}

/**
 * Runs a command on a node over SSH as root with the key the action installed (what an operator with
 * that key does behind the action's back); resolves with its stdout, rejects on a non-zero exit.
 */
export function onNode(lab: Lab, setup: LabActionSetup, board: number, slot: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client()
    c.once('error', (e) => {
      c.end()
      reject(e)
    })
    c.once('ready', () =>
      c.exec(command, (err, stream) => {
        if (err) {
          c.end()
          return reject(err)
        }
        let out = ''
        let errors = ''
        stream.on('data', (d: Buffer) => {
          out += d.toString()
        })
        stream.stderr.on('data', (d: Buffer) => {
          errors += d.toString()
        })
        stream.on('close', (code: number) => {
          c.end()
          if (code === 0) resolve(out)
          else reject(new Error(`${command} on ${lab.node(board, slot).host} exited ${code}: ${errors.trim()}`))
        })
      })
    )
    c.connect({
      host: lab.node(board, slot).host,
      port: 2222,
      username: 'root',
      privateKey: setup.inputs['ssh-private-key']!,
      readyTimeout: 10_000
    })
  })
}
