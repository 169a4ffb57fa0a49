import { describe, expect, it } from '@jest/globals'
import { credentialSecrets, derivedForms, maskCredential } from '../../../src/core/crypto/mask.js'
import { MemoryReporter } from '../../../src/core/reporter.js'

// Placeholder text in a key's framing, built so no key-shaped literal sits in the repo.
const frame = (word: string): string => `-----${word} ${'EC'} PRIVATE KEY-----`
const pem = `${frame('BEGIN')}\nMHcCAQEEIPrivateKeyMaterialLine1abcdefgh\nAwEHoUQDQgAEPrivateKeyMaterialLine2ijklmn\n${frame('END')}\n`
const keyData = Buffer.from(pem).toString('base64')
const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0EgZGF0YQ==
    server: https://10.10.88.71:6443
  name: default
users:
- name: admin
  user:
    client-key-data: ${keyData}
- name: robot
  user:
    token: abcdef.0123456789abcdef
`

describe('credentialSecrets', () => {
  it('masks the kubeconfig, its base64, each credential field and the decoded PEM lines', () => {
    const secrets = credentialSecrets('kubeconfig', kubeconfig)
    expect(secrets).toEqual(
      expect.arrayContaining([
        kubeconfig.trim(),
        Buffer.from(kubeconfig.trim()).toString('base64'),
        keyData,
        pem.trim(),
        'MHcCAQEEIPrivateKeyMaterialLine1abcdefgh',
        'AwEHoUQDQgAEPrivateKeyMaterialLine2ijklmn',
        'abcdef.0123456789abcdef',
        Buffer.from('abcdef.0123456789abcdef').toString('base64')
      ])
    )
  })

  it('does not mask ordinary lines or public fields of a kubeconfig', () => {
    const secrets = credentialSecrets('kubeconfig', kubeconfig)
    expect(secrets).not.toContain('kind: Config')
    expect(secrets).not.toContain('https://10.10.88.71:6443')
    expect(secrets).not.toContain(frame('BEGIN'))
  })

  it('masks every leaf of a Talos secrets bundle', () => {
    const bundle =
      'cluster:\n  id: clusterIdValue123\n  secret: clusterSecretValue456\nsecrets:\n  bootstraptoken: tokentoken.abcdefabcdef\n'
    expect(credentialSecrets('talos-secrets', bundle)).toEqual(
      expect.arrayContaining(['clusterIdValue123', 'clusterSecretValue456', 'tokentoken.abcdefabcdef'])
    )
  })

  it('masks the key and crt of every talosconfig context', () => {
    const talosconfig = `context: tpi\ncontexts:\n  tpi:\n    endpoints: [10.10.88.71]\n    ca: Y2FjYWNhY2E=\n    crt: ${keyData}\n    key: c2VjcmV0LWtleS1ieXRlcw==\n`
    const secrets = credentialSecrets('talosconfig', talosconfig)
    expect(secrets).toEqual(expect.arrayContaining(['c2VjcmV0LWtleS1ieXRlcw==', 'secret-key-bytes', keyData]))
    expect(secrets).not.toContain('10.10.88.71')
  })

  it('lists longer masks before shorter ones', () => {
    const lengths = credentialSecrets('kubeconfig', kubeconfig).map((s) => s.length)
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a))
  })

  it('still masks a file that is not YAML', () => {
    expect(credentialSecrets('kubeconfig', '{{{ not: yaml: at all')).toContain('{{{ not: yaml: at all')
  })
})

describe('derivedForms', () => {
  it('skips values too short to be credentials', () => {
    expect(derivedForms('abc')).toEqual([Buffer.from('abc').toString('base64')].filter((s) => s.length >= 8))
  })
})

describe('maskCredential', () => {
  it('hides the token, the decoded key and base64 forms from later reporter output', () => {
    const reporter = new MemoryReporter()
    maskCredential(reporter, 'kubeconfig', kubeconfig)
    reporter.info(`token=abcdef.0123456789abcdef key=${keyData}`)
    reporter.info(`line MHcCAQEEIPrivateKeyMaterialLine1abcdefgh`)
    expect(reporter.text()).toBe('token=*** key=***\nline ***')
  })
})
