import { afterEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { ensureKubeTools, HELM_VERSION, KUBECTL_VERSION } from '../../../../src/core/phases/addons/tools.js'
import { StandinDownloads } from './fake-downloads.js'

let dir: string
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('ensureKubeTools', () => {
  it('fetches helm and kubectl through the mirror, unpacks linux-<arch>/helm once and runs both', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-tools-'))
    const downloads = new StandinDownloads(dir)
    const tools = await ensureKubeTools(downloads, 'x64', 'http://127.0.0.1:9/')
    expect(downloads.requests.map((r) => [r.tool, r.version, r.url])).toEqual([
      ['helm', HELM_VERSION.slice(1), `http://127.0.0.1:9/get.helm.sh/helm-${HELM_VERSION}-linux-amd64.tar.gz`],
      [
        'kubectl',
        KUBECTL_VERSION.slice(1),
        `http://127.0.0.1:9/dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/amd64/kubectl`
      ]
    ])
    expect(execFileSync(tools.helm, ['version']).toString()).toMatch(/^version\.BuildInfo\{Version:"v3\.19\.0"/)
    expect(execFileSync(tools.kubectl, ['version', '--client']).toString()).toBe(
      'Client Version: v1.32.0\nKustomize Version: v5.5.0\n'
    )
    const unpacked = statSync(tools.helm).mtimeMs
    const again = await ensureKubeTools(downloads, 'x64', 'http://127.0.0.1:9/')
    expect(again.helm).toBe(tools.helm)
    expect(statSync(again.helm).mtimeMs).toBe(unpacked)
  })

  it('names the archive and the missing entry when the tarball has no helm binary', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kube-tools-'))
    const downloads = new StandinDownloads(dir, gzipSync(Buffer.alloc(1024)))
    await expect(ensureKubeTools(downloads, 'arm64')).rejects.toThrow(
      /^helm archive .*helm-v3\.19\.0-linux-arm64\.tar\.gz has no linux-arm64\/helm, expected the layout of get\.helm\.sh tarballs$/
    )
  })
})
