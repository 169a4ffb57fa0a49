import { afterAll, describe, expect, it } from '@jest/globals'
import { readdir, readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Decrypter, armor } from 'age-encryption'
import { createFolderSink } from '../../../src/adapters/artifacts/folder-sink.js'
import type { ArtifactSink } from '../../../src/adapters/artifacts/types.js'
import {
  PUBLISHED_KEY,
  publishCredentials,
  publishForRun,
  type PublishContext
} from '../../../src/core/crypto/publish.js'
import { emptyOutputs } from '../../../src/core/phases/types.js'
import { ConfigError } from '../../../src/core/errors.js'
import { MemoryReporter } from '../../../src/core/reporter.js'
import { ageDecrypt, makeKey, removeTempDirs, tempDir } from './age-cli.js'

afterAll(removeTempDirs)

const kubeconfig =
  'apiVersion: v1\nkind: Config\nusers:\n- name: admin\n  user:\n    token: K10tokenvalue::server:abcdef0123456789\n'
const talosconfig = 'context: tpi\ncontexts:\n  tpi:\n    key: dGFsb3Mta2V5LWJ5dGVzLXNlY3JldA==\n'

/** Records the order of mask registrations and uploads. */
class OrderReporter extends MemoryReporter {
  readonly events: string[] = []
  override secret(value: string): void {
    this.events.push(`secret:${value}`)
    super.secret(value)
  }
}

async function setup(options: { passphrase?: string; recipients?: boolean; secretsBundle?: boolean } = {}) {
  const dir = await tempDir('tpi-publish-')
  const key = await makeKey(dir)
  const stateDir = join(dir, 'state')
  const tempDirPath = join(dir, 'temp')
  await mkdir(stateDir)
  await mkdir(tempDirPath)
  const kubeconfigPath = join(stateDir, 'kubeconfig')
  const talosconfigPath = join(tempDirPath, 'talosconfig')
  await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 })
  await writeFile(talosconfigPath, talosconfig, { mode: 0o600 })
  const outputs: PublishContext['outputs'] = { kubeconfigPath, talosconfigPath }
  if (options.secretsBundle) {
    outputs.talosSecretsPath = join(tempDirPath, 'secrets.yaml')
    await writeFile(outputs.talosSecretsPath, 'cluster:\n  secret: clusterSecretValue456\n', { mode: 0o600 })
  }
  const reporter = new OrderReporter()
  const uploads: { name: string; files: string[]; root: string; retentionDays?: number }[] = []
  const folder = createFolderSink(join(dir, 'out'))
  const sink: ArtifactSink = {
    async upload(name, files, root, opts) {
      reporter.events.push(`upload:${name}`)
      uploads.push({ name, files, root, retentionDays: opts?.retentionDays })
      return { ...(await folder.upload(name, files, root)), id: uploads.length }
    }
  }
  const ctx: PublishContext = {
    cluster: { name: 'tpi' },
    settings: {
      stateDir,
      tempDir: tempDirPath,
      retentionDays: 3,
      secrets: {
        artifactRecipients: options.recipients === false ? [] : [key.recipient],
        artifactPassphrase: options.passphrase
      }
    },
    outputs,
    reporter,
    sink,
    scryptWorkFactor: 10
  }
  return { dir, key, ctx, reporter, uploads }
}

describe('publishCredentials', () => {
  it('uploads one artifact per credential, named after the cluster, that age -d turns back into the exact file', async () => {
    const { dir, key, ctx, uploads } = await setup({ secretsBundle: true })
    const result = await publishCredentials(ctx)
    expect(result.artifacts).toEqual([
      { kind: 'kubeconfig', name: 'tpi-kubeconfig', id: 1, files: ['kubeconfig.age'] },
      { kind: 'talosconfig', name: 'tpi-talosconfig', id: 2, files: ['talosconfig.age'] },
      { kind: 'talos-secrets', name: 'tpi-talos-secrets', id: 3, files: ['secrets.yaml.age'] }
    ])
    expect(uploads.map((u) => u.retentionDays)).toEqual([3, 3, 3])
    const copied = await readFile(join(dir, 'out', 'tpi-kubeconfig', 'kubeconfig.age'))
    expect((await ageDecrypt(key.file, copied)).toString()).toBe(kubeconfig)
    expect((await stat(join(dir, 'out', 'tpi-kubeconfig', 'kubeconfig.age'))).mode & 0o777).toBe(0o600)
    const talos = await readFile(join(dir, 'out', 'tpi-talosconfig', 'talosconfig.age'))
    expect((await ageDecrypt(key.file, talos)).toString()).toBe(talosconfig)
  })

  it('hands the sink only ciphertext files with mode 0600', async () => {
    const { ctx, uploads } = await setup()
    await publishCredentials(ctx)
    for (const upload of uploads)
      for (const file of upload.files) {
        const text = await readFile(file, 'utf8')
        expect(text.startsWith('-----BEGIN AGE ENCRYPTED FILE-----')).toBe(true)
        expect(text).not.toContain('K10tokenvalue')
        expect((await stat(file)).mode & 0o777).toBe(0o600)
      }
  })

  it('registers every mask (passphrase, file, token) before the first upload', async () => {
    const { ctx, reporter } = await setup({ passphrase: 'a long enough passphrase' })
    await publishCredentials(ctx)
    const firstUpload = reporter.events.findIndex((e) => e.startsWith('upload:'))
    const masks = reporter.events.slice(0, firstUpload)
    expect(masks).toEqual(
      expect.arrayContaining([
        'secret:a long enough passphrase',
        `secret:${kubeconfig.trim()}`,
        'secret:K10tokenvalue::server:abcdef0123456789',
        'secret:talos-key-bytes-secret'
      ])
    )
    expect(reporter.events.slice(firstUpload).some((e) => e.startsWith('secret:'))).toBe(false)
  })

  it('with recipients and a passphrase writes two files per artifact, each opened by its own means', async () => {
    const { dir, key, ctx } = await setup({ passphrase: 'a long enough passphrase' })
    const result = await publishCredentials(ctx)
    expect(result.artifacts[0].files).toEqual(['kubeconfig.age', 'kubeconfig.passphrase.age'])
    const folder = join(dir, 'out', 'tpi-kubeconfig')
    expect((await readdir(folder)).sort()).toEqual(['kubeconfig.age', 'kubeconfig.passphrase.age'])
    expect((await ageDecrypt(key.file, await readFile(join(folder, 'kubeconfig.age')))).toString()).toBe(kubeconfig)
    const decrypter = new Decrypter()
    decrypter.addPassphrase('a long enough passphrase')
    const armored = await readFile(join(folder, 'kubeconfig.passphrase.age'), 'utf8')
    expect(await decrypter.decrypt(armor.decode(armored), 'text')).toBe(kubeconfig)
    // The passphrase file is not readable with the key, and the key file not with the passphrase.
    await expect(ageDecrypt(key.file, armored)).rejects.toThrow()
  })

  it('returns plaintext files outside state-dir for the post step, keeping state-dir copies', async () => {
    const { ctx } = await setup({ secretsBundle: true })
    const result = await publishCredentials(ctx)
    expect(result.plaintextFiles).toEqual([ctx.outputs.talosconfigPath, ctx.outputs.talosSecretsPath])
    expect(result.encryptedDir).toBe(join(ctx.settings.tempDir, 'encrypted-artifacts'))
  })

  it('fails with a ConfigError before writing or uploading anything when there is no recipient or passphrase', async () => {
    const { ctx, uploads } = await setup({ recipients: false })
    const error = await publishCredentials(ctx).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues.map((i) => i.code)).toEqual(['NoArtifactEncryption'])
    expect(uploads).toEqual([])
    await expect(stat(join(ctx.settings.tempDir, 'encrypted-artifacts'))).rejects.toThrow(/ENOENT/)
  })

  it('does nothing when the deploy produced no credentials', async () => {
    const { ctx, uploads } = await setup()
    const result = await publishCredentials({ ...ctx, outputs: {} })
    expect(result.artifacts).toEqual([])
    expect(uploads).toEqual([])
  })

  it('names the artifact when an upload fails, without leaking the token', async () => {
    const { ctx } = await setup()
    const failing: ArtifactSink = { upload: async () => Promise.reject(new Error('500 Internal Server Error')) }
    const error = (await publishCredentials({ ...ctx, sink: failing }).catch((e: Error) => e)) as Error
    expect(error.message).toBe('uploading artifact "tpi-kubeconfig" (kubeconfig.age) failed: 500 Internal Server Error')
  })
})

describe('publishForRun', () => {
  it('publishes with the run sink and leaves the result in outputs.values for the front', async () => {
    const { ctx, uploads } = await setup()
    const outputs = { ...emptyOutputs(), ...ctx.outputs }
    const result = await publishForRun({ ...ctx, outputs, deps: { artifacts: ctx.sink } })
    expect(result?.artifacts.map((a) => a.name)).toEqual(['tpi-kubeconfig', 'tpi-talosconfig'])
    expect(outputs.values[PUBLISHED_KEY]).toBe(result)
    expect(uploads).toHaveLength(2)
  })

  it('says so and uploads nothing when the front has no artifact destination', async () => {
    const { ctx, reporter } = await setup()
    const outputs = { ...emptyOutputs(), ...ctx.outputs }
    expect(await publishForRun({ ...ctx, outputs, deps: {} })).toBeUndefined()
    expect(reporter.lines).toEqual(['no artifact destination configured: credentials were not uploaded'])
  })
})
