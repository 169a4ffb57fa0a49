// ArtifactSink on the GitHub Actions artifact service. The files are already age ciphertext, so zip
// compression would only cost time (compressionLevel 0). GHES is not supported by @actions/artifact v2+;
// the error says so instead of the library's generic one.
import { DefaultArtifactClient, type ArtifactClient, type UploadArtifactOptions } from '@actions/artifact'
import { mkdir, readdir } from 'node:fs/promises'
import { join, relative } from 'node:path'
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

const ghes = (name: string, error: unknown): TpiError =>
  new TpiError(
    'ArtifactsUnsupported',
    `artifact "${name}": the Actions artifact service is not available on GitHub Enterprise Server; write the encrypted files to a folder with the CLI and upload them another way`,
    { cause: error }
  )

/** Every regular file under dir, as absolute paths, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort((a, b) => relative(dir, a).localeCompare(relative(dir, b)))
}

export function createActionsArtifactSink(client: ArtifactClient = new DefaultArtifactClient()): ArtifactSink {
  return {
    async download(id, dir, from) {
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const [owner, repo] = (from?.repository ?? '').split('/')
      try {
        await client.downloadArtifact(id, {
          path: dir,
          // The REST route of another run's artifact takes the repository and token; workflowRunId is part of
          // the type but not of that route.
          ...(from && owner && repo
            ? { findBy: { token: from.token, repositoryOwner: owner, repositoryName: repo, workflowRunId: 0 } }
            : {})
        })
      } catch (error) {
        if (ghesRefused(error)) throw ghes(`id ${id}`, error)
        throw error
      }
      return filesUnder(dir)
    },
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
        if (ghesRefused(error)) throw ghes(name, error)
        throw error
      }
    }
  }
}
