// End to end: publishCredentials → real @actions/artifact client → the lab's results service on loopback;
// the uploaded bytes are unzipped and decrypted with the real age CLI.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createActionsArtifactSink } from '../../../src/adapters/artifacts/actions-artifact.js'
import { publishCredentials } from '../../../src/core/crypto/publish.js'
import { MemoryReporter } from '../../../src/core/reporter.js'
import { ageDecrypt, makeKey, removeTempDirs, tempDir, type TestKey } from '../../core/crypto/age-cli.js'
import { startResultsService, type ResultsService } from '../../../lab/results/index.js'

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0EgZGF0YQ==
    server: https://10.10.88.71:6443
  name: homelab
users:
- name: admin
  user:
    token: K10ab12cd34::server:0011223344556677
`

let results: ResultsService
let saved: Record<string, string | undefined>
let dir: string
let key: TestKey

beforeAll(async () => {
  results = await startResultsService()
  saved = {}
  for (const [k, v] of Object.entries({ ...results.env(), GITHUB_SERVER_URL: '' })) {
    saved[k] = process.env[k]
    if (v) process.env[k] = v
    else delete process.env[k]
  }
  dir = await tempDir('tpi-upload-')
  key = await makeKey(dir)
})

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  await results.stop()
  await removeTempDirs()
})

/** The one file inside an uploaded zip (unzip reads it from stdin-less temp file). */
async function unzipOne(zip: Buffer, entry: string): Promise<Buffer> {
  const path = join(dir, `upload-${Date.now()}.zip`)
  await writeFile(path, zip)
  return execFileSync('unzip', ['-p', path, entry])
}

describe('uploading encrypted credentials with @actions/artifact', () => {
  it('uploads an artifact whose bytes age -d turns back into the exact kubeconfig, and nothing readable without the key', async () => {
    const stateDir = join(dir, 'state')
    await mkdir(stateDir)
    await writeFile(join(stateDir, 'kubeconfig'), kubeconfig, { mode: 0o600 })
    const result = await publishCredentials({
      cluster: { name: 'homelab' },
      settings: {
        stateDir,
        tempDir: join(dir, 'temp'),
        retentionDays: 1,
        secrets: { artifactRecipients: [key.recipient] }
      },
      outputs: { kubeconfigPath: join(stateDir, 'kubeconfig') },
      reporter: new MemoryReporter(),
      sink: createActionsArtifactSink()
    })
    expect(result.artifacts).toEqual([
      { kind: 'kubeconfig', name: 'homelab-kubeconfig', id: 1, files: ['kubeconfig.age'] }
    ])

    const uploaded = results.artifacts().find((a) => a.name === 'homelab-kubeconfig')!.bytes
    expect(uploaded.includes(Buffer.from('K10ab12cd34'))).toBe(false)
    const ciphertext = await unzipOne(uploaded, 'kubeconfig.age')
    expect((await ageDecrypt(key.file, ciphertext)).toString('utf8')).toBe(kubeconfig)

    const stranger = await makeKey(dir, 'stranger.txt')
    await expect(ageDecrypt(stranger.file, ciphertext)).rejects.toThrow(/no identity matched/)
  })

  it('a re-run attempt of the same workflow run replaces the artifact its earlier attempt uploaded (the service refuses a second one of that name)', async () => {
    const stateDir = join(dir, 'state-again')
    await mkdir(stateDir)
    const newer = kubeconfig.replace('10.10.88.71', '10.10.88.72')
    await writeFile(join(stateDir, 'kubeconfig'), newer, { mode: 0o600 })
    const reporter = new MemoryReporter()
    const result = await publishCredentials({
      cluster: { name: 'homelab' },
      settings: {
        stateDir,
        tempDir: join(dir, 'temp-again'),
        retentionDays: 1,
        secrets: { artifactRecipients: [key.recipient] }
      },
      outputs: { kubeconfigPath: join(stateDir, 'kubeconfig') },
      reporter,
      sink: createActionsArtifactSink()
    })
    expect(result.artifacts).toEqual([
      { kind: 'kubeconfig', name: 'homelab-kubeconfig', id: expect.any(Number), files: ['kubeconfig.age'] }
    ])
    expect(reporter.text()).toContain('replaced the one an earlier attempt of this run uploaded')
    expect(
      results.requests
        .filter((r) => r.path.endsWith('CreateArtifact') || r.path.endsWith('DeleteArtifact'))
        .map((r) => [r.path.split('/').pop(), r.status])
    ).toEqual([
      ['CreateArtifact', 200],
      ['CreateArtifact', 409],
      ['DeleteArtifact', 200],
      ['CreateArtifact', 200]
    ])
    const stored = results.artifacts().filter((a) => a.name === 'homelab-kubeconfig')
    expect(stored).toHaveLength(1)
    expect((await ageDecrypt(key.file, await unzipOne(stored[0]!.bytes, 'kubeconfig.age'))).toString('utf8')).toBe(
      newer
    )
  })
})
