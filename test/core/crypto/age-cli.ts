// Test helpers around the real Debian `age` CLI: keys are generated at test time and written 0600 to a
// temp folder; plaintext goes through stdin/stdout only.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateX25519Identity, identityToRecipient } from 'age-encryption'

export interface TestKey {
  identity: string
  recipient: string
  file: string
}

const made: string[] = []

export async function tempDir(prefix = 'tpi-crypto-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}

/** Removes every folder tempDir made (call from afterAll). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })))
}

export async function makeKey(dir: string, name = 'key.txt'): Promise<TestKey> {
  const identity = await generateX25519Identity()
  const recipient = await identityToRecipient(identity)
  const file = join(dir, name)
  await writeFile(file, `# public key: ${recipient}\n${identity}\n`, { mode: 0o600 })
  return { identity, recipient, file }
}

/** `age -d -i keyFile` on the given ciphertext; resolves stdout bytes, rejects with age's stderr. */
export function ageDecrypt(keyFile: string, ciphertext: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'age',
      ['-d', '-i', keyFile],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`age -d failed: ${stderr.toString().trim()}`))
        else resolve(stdout)
      }
    )
    child.stdin!.end(ciphertext)
  })
}
