import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFolderSink } from '../../../src/adapters/artifacts/folder-sink.js'

let dir = ''
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('createFolderSink', () => {
  it('copies the files into <folder>/<name>/ keeping relative paths, mode 0600, and reports the size', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tpi-folder-sink-'))
    const root = join(dir, 'enc')
    await mkdir(join(root, 'sub'), { recursive: true })
    await writeFile(join(root, 'kubeconfig.age'), 'AAAA', { mode: 0o644 })
    await writeFile(join(root, 'sub', 'b.age'), 'BB')
    const sink = createFolderSink(join(dir, 'out'))
    const result = await sink.upload('tpi-kubeconfig', [join(root, 'kubeconfig.age'), join(root, 'sub', 'b.age')], root)
    expect(result).toEqual({ name: 'tpi-kubeconfig', size: 6 })
    expect(await readFile(join(dir, 'out', 'tpi-kubeconfig', 'sub', 'b.age'), 'utf8')).toBe('BB')
    expect((await stat(join(dir, 'out', 'tpi-kubeconfig', 'kubeconfig.age'))).mode & 0o777).toBe(0o600)
  })

  it('refuses files outside the root directory and names that are not folder names', async () => {
    const sink = createFolderSink(join(dir, 'out'))
    await expect(sink.upload('x', ['/etc/passwd'], join(dir, 'enc'))).rejects.toThrow(
      /file \/etc\/passwd is outside the root directory/
    )
    await expect(sink.upload('../escape', [], dir)).rejects.toThrow('artifact name "../escape" cannot be a folder name')
  })
})
