import { describe, expect, it } from '@jest/globals'
import { GHESNotSupportedError, type ArtifactClient, type UploadArtifactOptions } from '@actions/artifact'
import { createActionsArtifactSink } from '../../../src/adapters/artifacts/actions-artifact.js'

function recordingClient(result: { id?: number; size?: number } | Error) {
  const calls: { name: string; files: string[]; root: string; options?: UploadArtifactOptions }[] = []
  const client = {
    uploadArtifact: async (name: string, files: string[], root: string, options?: UploadArtifactOptions) => {
      calls.push({ name, files, root, options })
      if (result instanceof Error) throw result
      return result
    }
  } as unknown as ArtifactClient
  return { client, calls }
}

describe('createActionsArtifactSink', () => {
  it('uploads without compression (ciphertext does not compress) with the retention asked for', async () => {
    const { client, calls } = recordingClient({ id: 42, size: 1234 })
    const result = await createActionsArtifactSink(client).upload('tpi-kubeconfig', ['/t/a/kubeconfig.age'], '/t/a', {
      retentionDays: 5
    })
    expect(result).toEqual({ name: 'tpi-kubeconfig', id: 42, size: 1234 })
    expect(calls).toEqual([
      {
        name: 'tpi-kubeconfig',
        files: ['/t/a/kubeconfig.age'],
        root: '/t/a',
        options: { compressionLevel: 0, retentionDays: 5 }
      }
    ])
  })

  it('leaves retention to the repository default when none is given', async () => {
    const { client, calls } = recordingClient({})
    expect(await createActionsArtifactSink(client).upload('x', ['/r/x'], '/r')).toEqual({ name: 'x' })
    expect(calls[0].options).toEqual({ compressionLevel: 0 })
  })

  it('explains that GitHub Enterprise Server has no artifact service for this client', async () => {
    const { client } = recordingClient(new GHESNotSupportedError())
    await expect(createActionsArtifactSink(client).upload('tpi-kubeconfig', ['/r/x'], '/r')).rejects.toThrow(
      'artifact "tpi-kubeconfig": the Actions artifact service is not available on GitHub Enterprise Server; write the encrypted files to a folder with the CLI and upload them another way'
    )
  })

  it('recognises the GHES refusal by its name, as raised by a stand-in @actions/artifact (local-action) with its own class', async () => {
    const stub = Object.assign(new Error('not supported on GHES'), { name: 'GHESNotSupportedError' })
    const { client } = recordingClient(stub)
    await expect(createActionsArtifactSink(client).upload('tpi-kubeconfig', ['/r/x'], '/r')).rejects.toThrow(
      'not available on GitHub Enterprise Server'
    )
  })

  it('passes other upload errors through unchanged', async () => {
    const { client } = recordingClient(
      new Error('Received non-retryable error: Failed request: (403) Forbidden: artifact storage quota has been hit')
    )
    await expect(createActionsArtifactSink(client).upload('x', ['/r/x'], '/r')).rejects.toThrow(
      'Received non-retryable error: Failed request: (403) Forbidden: artifact storage quota has been hit'
    )
  })
})
