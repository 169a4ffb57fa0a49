// ArtifactSink for the CLI: the encrypted files are copied into <folder>/<artifact name>/, keeping their
// paths relative to the root directory, with mode 0600 like everything credential-shaped.
import { chmod, copyFile, mkdir, stat } from 'node:fs/promises'
import { dirname, isAbsolute, join, relative } from 'node:path'
import { TpiError } from '../../core/errors.js'
import type { ArtifactSink } from './types.js'

export function createFolderSink(folder: string): ArtifactSink {
  return {
    async upload(name, files, rootDirectory) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
        throw new TpiError(
          'ArtifactName',
          `artifact name "${name}" cannot be a folder name; expected letters, digits, dot, dash, underscore`
        )
      const target = join(folder, name)
      await mkdir(target, { recursive: true, mode: 0o700 })
      let size = 0
      for (const file of files) {
        const rel = relative(rootDirectory, file)
        if (rel.startsWith('..') || isAbsolute(rel))
          throw new TpiError(
            'ArtifactPath',
            `artifact "${name}": file ${file} is outside the root directory ${rootDirectory}`
          )
        const dest = join(target, rel)
        await mkdir(dirname(dest), { recursive: true, mode: 0o700 })
        await copyFile(file, dest)
        await chmod(dest, 0o600)
        size += (await stat(dest)).size
      }
      return { name, size }
    }
  }
}
