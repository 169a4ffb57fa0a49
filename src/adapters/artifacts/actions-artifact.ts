// ArtifactSink on the GitHub Actions artifact service. The files are already age ciphertext, so zip
// compression would only cost time (compressionLevel 0). GHES is not supported by @actions/artifact v2+;
// the error says so instead of the library's generic one.
import { DefaultArtifactClient, type ArtifactClient, type UploadArtifactOptions } from '@actions/artifact'
import { TpiError } from '../../core/errors.js'
import type { ArtifactSink } from './types.js'

/**
 * The service refuses a second artifact of one name in one workflow run (HTTP 409). That happens when a
 * failed job is re-run: its earlier attempt already uploaded the credentials. The newer ones win, as
 * upload-artifact's `overwrite: true` does: the old artifact is deleted and the upload made once more.
 */
const nameTaken = (error: unknown): boolean => error instanceof Error && /\(409\)|already exists/i.test(error.message)

/** By name, not class: GitHub's local-action stubs @actions/artifact without exporting the error class. */
const ghesRefused = (error: unknown): boolean => error instanceof Error && error.name === 'GHESNotSupportedError'

export function createActionsArtifactSink(client: ArtifactClient = new DefaultArtifactClient()): ArtifactSink {
  return {
    async upload(name, files, rootDirectory, options) {
      const settings: UploadArtifactOptions = {
        compressionLevel: 0,
        ...(options?.retentionDays ? { retentionDays: options.retentionDays } : {})
      }
      let replaced = false
      try {
        const result = await client
          .uploadArtifact(name, files, rootDirectory, settings)
          .catch(async (error: unknown) => {
            if (!nameTaken(error)) throw error
            await client.deleteArtifact(name)
            replaced = true
            return client.uploadArtifact(name, files, rootDirectory, settings)
          })
        return {
          name,
          ...(result.id !== undefined ? { id: result.id } : {}),
          ...(result.size !== undefined ? { size: result.size } : {}),
          ...(replaced ? { replaced } : {})
        }
      } catch (error) {
        if (ghesRefused(error))
          throw new TpiError(
            'ArtifactsUnsupported',
            `artifact "${name}": the Actions artifact service is not available on GitHub Enterprise Server; write the encrypted files to a folder with the CLI and upload them another way`,
            { cause: error }
          )
        throw error
      }
    }
  }
}
