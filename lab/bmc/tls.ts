// A throwaway self-signed certificate like bmcd's (CN "Turing-Pi self signed", no SAN). ECDSA P-256
// instead of RSA-4096 keeps start-up fast; one certificate per process serves every emulator.
import { execFile } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export interface LabCert {
  keyPem: string
  certPem: string
  fingerprint: string
}

let cached: Promise<LabCert> | undefined

async function generate(): Promise<LabCert> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-bmc-tls-'))
  try {
    const key = join(dir, 'key.pem')
    const cert = join(dir, 'cert.pem')
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-subj',
      '/CN=Turing-Pi self signed',
      '-days',
      '30'
    ])
    const certPem = await readFile(cert, 'utf8')
    // Node prints AA:BB:..; clients pin the plain lowercase form.
    const fingerprint = new X509Certificate(certPem).fingerprint256.replace(/:/g, '').toLowerCase()
    return { keyPem: await readFile(key, 'utf8'), certPem, fingerprint }
  } finally {
    // The key lives in memory only.
    await rm(dir, { recursive: true, force: true })
  }
}

export function labCertificate(): Promise<LabCert> {
  cached ??= generate().catch((e: unknown) => {
    cached = undefined
    throw e
  })
  return cached
}
