// What the lifecycle end-to-end tests (lifecycle.test.ts for K3s, lifecycle-talos.test.ts) do as a user
// would: kubectl on the runner with the kubeconfig the deploy uploaded, the backup file as downloaded from
// the <cluster>-backup artifact, and forged backups (the real one's files edited and encrypted again to the
// same public key) for the restore's refusals. Every child process is asynchronous: the lab's servers live
// in the test's own event loop.
import { execFile } from 'node:child_process'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from '@jest/globals'
import { decryptLabArtifact, type LabActionSetup } from '../../lab/action.js'
import { KUBECTL_STANDIN } from '../../lab/kube/binaries.js'
import type { Lab } from '../../lab/lab.js'
import { encryptArmored } from '../../src/core/crypto/age.js'
import { packTar, unpackTar } from '../../src/core/lifecycle/backup/tar.js'

const run = promisify(execFile)

/** kubectl on the runner with the cluster's uploaded kubeconfig (decrypted with the real age). */
export function labKubectl(
  lab: Lab,
  setup: LabActionSetup,
  work: string
): (args: string[], stdin?: string) => Promise<string> {
  return async (args, stdin) => {
    const kubeconfig = Object.values(await decryptLabArtifact(lab, setup, `${setup.cluster.name}-kubeconfig`))[0]!
    const path = join(work, `kubeconfig-${Date.now()}`)
    await writeFile(path, kubeconfig, { mode: 0o600 })
    try {
      const child = run(process.execPath, [KUBECTL_STANDIN, ...args, '--kubeconfig', path], {
        env: { ...process.env, ...lab.env() }
      })
      if (stdin !== undefined) child.child.stdin!.end(stdin)
      return (await child).stdout
    } finally {
      await rm(path, { force: true })
    }
  }
}

/** The latest backup artifact's one file (backup.tar.age) as a user downloads and unzips it into `work`. */
export async function backupFile(lab: Lab, work: string, cluster: string): Promise<string> {
  const artifact = lab.results.artifacts().findLast((a) => a.name === `${cluster}-backup`)!
  await writeFile(join(work, 'artifact.zip'), artifact.bytes)
  const { stdout } = await run('unzip', ['-Z1', join(work, 'artifact.zip')])
  expect(stdout.split('\n').filter(Boolean)).toEqual(['backup.tar.age'])
  await run('unzip', ['-o', '-q', join(work, 'artifact.zip'), '-d', work])
  return join(work, 'backup.tar.age')
}

/** A forged bundle: the decrypted tar's files changed by `edit`, encrypted to `recipient` (a public key). */
export async function forgedBackup(
  tar: Buffer,
  recipient: string,
  path: string,
  edit: (files: Map<string, Buffer>) => void
): Promise<string> {
  const files = unpackTar(tar)
  edit(files)
  await writeFile(
    path,
    await encryptArmored(packTar([...files].map(([n, data]) => ({ name: n, data }))), { recipients: [recipient] })
  )
  return path
}

export function editManifest(
  files: Map<string, Buffer>,
  fn: (m: { cluster: string; parts: { path: string; kind: string }[] }) => void
): void {
  const m = JSON.parse(files.get('manifest.json')!.toString())
  fn(m)
  files.set('manifest.json', Buffer.from(JSON.stringify(m)))
}
