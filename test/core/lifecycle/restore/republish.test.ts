import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createFolderSink } from '../../../../src/adapters/artifacts/folder-sink.js'
import { PUBLISHED_KEY, publishForRun, type PublishResult } from '../../../../src/core/crypto/publish.js'
import { republish } from '../../../../src/core/lifecycle/restore/run-restore.js'
import { emptyOutputs, type PhaseContext } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { ageDecrypt, makeKey, removeTempDirs, tempDir } from '../../crypto/age-cli.js'

afterAll(removeTempDirs)

// The kubeconfig a restore reads again: its CA is the backed-up cluster's, not the one the last deploy uploaded.
const restored =
  'apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    certificate-authority-data: UkVTVE9SRUQtQ0E=\n    server: https://10.0.0.10:6443\n  name: default\n'

async function setup(withKubeconfig = true) {
  const dir = await tempDir('tpi-republish-')
  const key = await makeKey(dir)
  const tempDirPath = join(dir, 'temp')
  const stateDir = join(dir, 'state')
  await mkdir(tempDirPath)
  await mkdir(stateDir)
  const outputs = emptyOutputs()
  if (withKubeconfig) {
    outputs.kubeconfigPath = join(tempDirPath, 'kubeconfig')
    await writeFile(outputs.kubeconfigPath, restored, { mode: 0o600 })
  }
  const reporter = new MemoryReporter()
  const ctx = {
    cluster: { name: 'tpi' },
    settings: { stateDir, tempDir: tempDirPath, secrets: { artifactRecipients: [key.recipient] } },
    outputs,
    reporter,
    deps: { artifacts: createFolderSink(join(dir, 'out')) }
  } as unknown as PhaseContext
  return { dir, key, ctx, reporter }
}

describe('republish after a restore', () => {
  it('publishes the kubeconfig read again as the deploy does: <cluster>-kubeconfig, age-encrypted, said in the output', async () => {
    const { dir, key, ctx, reporter } = await setup()
    const steps = await republish(ctx, async (c) => {
      await publishForRun(c)
    })
    expect(steps).toEqual([expect.stringMatching(/^kubeconfig of the restored cluster published again/)])
    expect(reporter.lines).toContain(steps[0])
    const published = ctx.outputs.values[PUBLISHED_KEY] as PublishResult
    expect(published.artifacts.map((a) => [a.name, a.files])).toEqual([['tpi-kubeconfig', ['kubeconfig.age']]])
    const file = join(dir, 'out', 'tpi-kubeconfig', 'kubeconfig.age')
    expect((await ageDecrypt(key.file, await readFile(file))).toString('utf8')).toBe(restored)
  })

  it('publishes nothing when the kind read no kubeconfig', async () => {
    const { ctx } = await setup(false)
    let calls = 0
    expect(
      await republish(ctx, async () => {
        calls++
      })
    ).toEqual([])
    expect(calls).toBe(0)
  })

  it('without a publisher says where the kubeconfig is and that it was not uploaded', async () => {
    const { ctx } = await setup()
    expect(await republish(ctx, undefined)).toEqual([expect.stringMatching(/written to .*kubeconfig .*not uploaded/)])
  })
})
