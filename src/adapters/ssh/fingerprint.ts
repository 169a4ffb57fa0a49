// Host key fingerprints in the form `ssh-keygen -lf` prints (SHA256:<base64 without padding>), so a
// fingerprint recorded by the action, printed by ssh-keygen on a node or stored in state compare equal.
import { createHash } from 'node:crypto'

/** Fingerprint of a raw SSH public key blob (the wire format ssh2 hands to a host verifier). */
export function fingerprintOfKeyBlob(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}
