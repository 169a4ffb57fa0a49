// Host key fingerprints in the form `ssh-keygen -lf` prints (SHA256:<base64 without padding>), so a
// fingerprint recorded by the action, printed by ssh-keygen on a node or stored in state compare equal.
import { createHash } from 'node:crypto'

/** Fingerprint of a raw SSH public key blob (the wire format ssh2 hands to a host verifier). */
export function fingerprintOfKeyBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

/** Fingerprint of an OpenSSH public key line (`ssh-ed25519 AAAA... comment`). */
export function fingerprintOfPublicKeyLine(line: string): string {
  const parts = line.trim().split(/\s+/)
  if (parts.length < 2) throw new Error(`not an OpenSSH public key line (expected "<type> <base64>"): ${line.slice(0, 40)}`)
  return fingerprintOfKeyBlob(Buffer.from(parts[1], 'base64'))
}

/** Single-quotes a string for a POSIX shell. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`
}
