// A self-signed serving certificate for the emulated API, made once per data folder with the openssl CLI
// (Node cannot issue X.509 certificates) and kept there, so a restarted API keeps the CA that kubeconfigs
// already carry. The certificate is its own CA.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

// extraSans: more subjectAltName entries (`IP:10.10.88.73`, `DNS:name`), e.g. a k3s server's LAN address.
// OPENSSL_CONF=/dev/null: a simulated node's /etc may have no openssl.cnf, and none is needed here.
export function servingCert(dataDir, host, extraSans = []) {
  const cert = join(dataDir, 'apiserver.crt')
  const key = join(dataDir, 'apiserver.key')
  if (!existsSync(cert) || !existsSync(key)) {
    const san = [
      ...new Set([
        `IP:${host}`,
        'IP:127.0.0.1',
        'DNS:localhost',
        'DNS:kubernetes',
        'DNS:kubernetes.default.svc',
        ...extraSans
      ])
    ].join(',')
    execFileSync(
      'openssl',
      [
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
        '-days',
        '30',
        '-subj',
        '/CN=kube-apiserver-lab',
        '-addext',
        `subjectAltName=${san}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE'
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OPENSSL_CONF: '/dev/null' } }
    )
  }
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') }
}
