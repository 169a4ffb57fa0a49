// Where restore takes the backup's bytes from: a file, or an artifact by id through deps.artifacts; every
// problem with the source is a refusal before anything is decrypted or any node touched.
import { describe, expect, test } from '@jest/globals'
import { mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ArtifactSink } from '../../../../src/adapters/artifacts/types.js'
import type { Deps } from '../../../../src/core/deps.js'
import { backupBytes } from '../../../../src/core/lifecycle/restore/source.js'
import { phaseContext } from '../../kinds/k3s/context.js'
import { k3sCluster } from '../../kinds/k3s/fixtures.js'

/** deps.artifacts that serves one artifact id with these files, recording each call. */
function artifacts(files: Record<string, string>, calls: unknown[][]): ArtifactSink {
  return {
    upload: () => Promise.reject(new Error('no upload in restore')),
    async download(id, dir, from) {
      calls.push([id, from])
      if (id !== 42) throw new Error('Not Found - https://docs.github.com/rest')
      await mkdir(dir, { recursive: true })
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
      return Object.keys(files).map((n) => join(dir, n))
    }
  }
}

async function context(settings: Record<string, unknown>, sink?: ArtifactSink) {
  const ctx = await phaseContext(k3sCluster(), { artifacts: sink } as unknown as Deps)
  Object.assign(ctx.settings, settings)
  return ctx
}

describe("restore's backup source", () => {
  test('an artifact id is downloaded with the repository and token, the key-matching file read, the download removed', async () => {
    const calls: unknown[][] = []
    const sink = artifacts({ 'backup.tar.age': 'for recipients', 'backup.tar.passphrase.age': 'for passphrase' }, calls)
    const ctx = await context({ backupArtifactId: 42, repository: 'org/homelab' }, sink)
    ctx.settings.secrets = { ...ctx.settings.secrets, githubToken: 'ghs_x', backupIdentity: 'AGE-SECRET-KEY-1X' }
    expect((await backupBytes(ctx)).toString()).toBe('for recipients')
    expect(calls).toEqual([[42, { repository: 'org/homelab', token: 'ghs_x' }]])
    expect(await readdir(join(ctx.settings.tempDir, 'backup-download'))).toEqual([])
    ctx.settings.secrets = { ...ctx.settings.secrets, backupIdentity: undefined, artifactPassphrase: 'p' }
    expect((await backupBytes(ctx)).toString()).toBe('for passphrase')
  })

  test('is refused, naming what to set, for both sources, none, an unknown id, a foreign artifact or no download', async () => {
    const calls: unknown[][] = []
    const cases: [Record<string, unknown>, ArtifactSink | undefined, RegExp][] = [
      [
        { backupArtifactId: 42, backupFile: 'b.age' },
        undefined,
        /both backup \(b\.age\) and backup-artifact-id \(42\)/
      ],
      [{}, undefined, /no backup given: set backup-artifact-id to the id of a lab-backup artifact/],
      [
        { backupArtifactId: 7 },
        artifacts({}, calls),
        /backup artifact 7 cannot be downloaded \(Not Found.*\); an artifact of another workflow run needs github-token/
      ],
      [
        { backupArtifactId: 42 },
        artifacts({ 'kubeconfig.age': 'x' }, calls),
        /backup artifact 42 holds kubeconfig\.age, not backup\.tar\.passphrase\.age: expected a lab-backup artifact/
      ],
      [{ backupArtifactId: 42 }, undefined, /backup-artifact-id needs the Actions artifact service/]
    ]
    for (const [settings, sink, message] of cases)
      await expect(backupBytes(await context(settings, sink))).rejects.toThrow(message)
  })
})
