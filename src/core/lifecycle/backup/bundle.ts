// The backup artifact: manifest + parts in a tar, age-encrypted (armored) as one file, `backup.tar.age`, so
// `age -d -i key backup.tar.age | tar x` gives a user every part by hand.
import { Decrypter, armor } from 'age-encryption'
import { encryptArmored, type EncryptOptions } from '../../crypto/age.js'
import { TpiError } from '../../errors.js'
import { BACKUP_FORMAT, MANIFEST, sha256, type BackupManifest, type BackupPart, type PartKind } from './manifest.js'
import { packTar, unpackTar } from './tar.js'

export const BUNDLE_FILE = 'backup.tar.age'
/** The same bundle encrypted with artifact-passphrase, beside BUNDLE_FILE when both are set. */
export const PASSPHRASE_BUNDLE_FILE = 'backup.tar.passphrase.age'
export const artifactNameOf = (cluster: string): string => `${cluster}-backup`

export interface PartInput {
  path: string
  kind: PartKind
  node?: string
  data: Buffer
}

/** The manifest for these parts (digests computed here, never taken from a node). */
export function manifestFor(meta: Omit<BackupManifest, 'format' | 'parts'>, parts: PartInput[]): BackupManifest {
  return {
    format: BACKUP_FORMAT,
    ...meta,
    parts: parts.map((p): BackupPart => ({
      path: p.path,
      kind: p.kind,
      ...(p.node ? { node: p.node } : {}),
      bytes: p.data.length,
      sha256: sha256(p.data)
    }))
  }
}

/** tar(manifest.json + parts), encrypted and armored; one string, written 0600 by the caller. */
export async function sealBackup(
  manifest: BackupManifest,
  parts: PartInput[],
  encryption: EncryptOptions
): Promise<string> {
  const tar = packTar([
    { name: MANIFEST, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') },
    ...parts.map((p) => ({ name: p.path, data: p.data }))
  ])
  return encryptArmored(tar, encryption)
}

/** Decrypts an armored (or binary) age file with an identity (AGE-SECRET-KEY-1…) or a passphrase, and unpacks it. */
export async function openBackup(
  file: Buffer,
  key: { identity?: string; passphrase?: string }
): Promise<Map<string, Buffer>> {
  const d = new Decrypter()
  if (key.identity)
    for (const line of key.identity
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('AGE-SECRET-KEY-')))
      d.addIdentity(line)
  if (key.passphrase) d.addPassphrase(key.passphrase)
  if (!key.identity && !key.passphrase)
    throw new TpiError(
      'BackupKey',
      'restore needs the key the backup was encrypted to: set backup-identity (an AGE-SECRET-KEY-1… line) or artifact-passphrase'
    )
  const text = file.toString('utf8')
  const binary = text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----') ? armor.decode(text) : new Uint8Array(file)
  let plain: Uint8Array
  try {
    plain = await d.decrypt(binary)
  } catch (e) {
    throw new TpiError(
      'BackupDecrypt',
      `the backup cannot be decrypted with the given key (${(e as Error).message}); use the identity or passphrase of the backup run`
    )
  }
  return unpackTar(Buffer.from(plain))
}
