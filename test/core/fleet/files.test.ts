import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clusterFiles, globRegExp } from '../../../src/core/fleet/files.js'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function tree(files: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-fleet-files-'))
  dirs.push(dir)
  for (const f of files) {
    await mkdir(join(dir, f, '..'), { recursive: true })
    await writeFile(join(dir, f), 'kind: k3s\n')
  }
  return dir
}

describe('clusterFiles', () => {
  it('keeps one named file as it is, even one that does not exist (the loader reports that)', async () => {
    const dir = await tree(['cluster.yaml'])
    expect(await clusterFiles('cluster.yaml', dir)).toEqual(['cluster.yaml'])
    expect(await clusterFiles('missing.yaml', dir)).toEqual(['missing.yaml'])
  })

  it('expands a folder to its *.yaml and *.yml files, sorted, without subfolders or other files', async () => {
    const dir = await tree(['clusters/b.yml', 'clusters/a.yaml', 'clusters/README.md', 'clusters/old/c.yaml'])
    expect(await clusterFiles('clusters', dir)).toEqual(['clusters/a.yaml', 'clusters/b.yml'])
    expect(await clusterFiles('clusters/', dir)).toEqual(['clusters/a.yaml', 'clusters/b.yml'])
  })

  it('expands * within a folder and ** across folders', async () => {
    const dir = await tree([
      'clusters/a.yaml',
      'clusters/b.yaml',
      'sites/x/cluster.yaml',
      'sites/y/z/cluster.yaml',
      'sites/y/values.yaml'
    ])
    expect(await clusterFiles('clusters/*.yaml', dir)).toEqual(['clusters/a.yaml', 'clusters/b.yaml'])
    expect(await clusterFiles('sites/**/cluster.yaml', dir)).toEqual(['sites/x/cluster.yaml', 'sites/y/z/cluster.yaml'])
    expect(await clusterFiles('./sites/*/cluster.yaml', dir)).toEqual(['sites/x/cluster.yaml'])
  })

  it('refuses a folder or glob that matches nothing, so a fleet job never checks zero clusters and looks green', async () => {
    const dir = await tree(['clusters/notes.txt'])
    await expect(clusterFiles('clusters', dir)).rejects.toThrow(
      'config clusters: the folder holds no cluster file (*.yaml or *.yml)'
    )
    await expect(clusterFiles('clusters/*.yaml', dir)).rejects.toThrow('config clusters/*.yaml: no file matches')
  })

  it('translates globs segment by segment', () => {
    expect(globRegExp('a/*.yaml').test('a/b.yaml')).toBe(true)
    expect(globRegExp('a/*.yaml').test('a/b/c.yaml')).toBe(false)
    expect(globRegExp('a/**/c.yaml').test('a/c.yaml')).toBe(true)
    expect(globRegExp('a/?.yaml').test('a/bb.yaml')).toBe(false)
    expect(globRegExp('a.b/*.yaml').test('axb/c.yaml')).toBe(false)
  })
})

describe('clusterFiles with an absolute config', () => {
  it('returns absolute paths for an absolute folder or glob', async () => {
    const dir = await tree(['clusters/a.yaml', 'clusters/b.yaml'])
    expect(await clusterFiles(join(dir, 'clusters'))).toEqual([
      join(dir, 'clusters/a.yaml'),
      join(dir, 'clusters/b.yaml')
    ])
    expect(await clusterFiles(`${dir}/clusters/*.yaml`)).toEqual([
      join(dir, 'clusters/a.yaml'),
      join(dir, 'clusters/b.yaml')
    ])
  })
})
