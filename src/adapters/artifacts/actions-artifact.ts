// ArtifactSink on the GitHub Actions artifact service. The files are already age ciphertext, so zip
// compression would only cost time (compressionLevel 0). GHES is not supported by @actions/artifact v2+;
// the error says so instead of the library's generic one.
import { DefaultArtifactClient, GHESNotSupportedError, type ArtifactClient } from '@actions/artifact'
import { TpiError } from '../../core/errors.js'
import type { ArtifactSink } from './types.js'

export function createActionsArtifactSink(client: ArtifactClient = new DefaultArtifactClient()): ArtifactSink {
  return {
    async upload(name, files, rootDirectory, options) {
      try {
        const result = await client.uploadArtifact(name, files, rootDirectory, {
          compressionLevel: 0,
          ...(options?.retentionDays ? { retentionDays: options.retentionDays } : {})
        })
        return { name, ...(result.id !== undefined ? { id: result.id } : {}), ...(result.size !== undefined ? { size: result.size } : {}) }
      } catch (error) {
        if (error instanceof GHESNotSupportedError)
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
