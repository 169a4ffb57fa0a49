// A Downloads that hands out the lab's helm and kubectl stand-ins as the release assets would be (the lead
// wires the real Downloads with the lab mirror); it records each request so tests can check URLs.
import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ArtifactRequest, CachedArtifact, Downloads } from '../../../../src/adapters/downloads/types.js'
import { helmStandinTarball, kubectlStandinBinary } from '../../../../lab/kube/binaries.js'

export class StandinDownloads implements Downloads {
  readonly requests: ArtifactRequest[] = []
  constructor(
    private readonly dir: string,
    private readonly helmBytes?: Buffer
  ) {}

  async fetch(request: ArtifactRequest): Promise<CachedArtifact> {
    this.requests.push(request)
    const arch = request.arch === 'x64' ? 'amd64' : 'arm64'
    const bytes =
      request.tool === 'helm'
        ? (this.helmBytes ?? helmStandinTarball(arch))
        : request.tool === 'kubectl'
          ? kubectlStandinBinary()
          : undefined
    if (!bytes) throw new Error(`StandinDownloads has no ${request.tool}, expected helm or kubectl`)
    const folder = join(this.dir, request.tool, request.version, request.arch)
    mkdirSync(folder, { recursive: true })
    const path = join(folder, request.fileName)
    writeFileSync(path, bytes, { mode: request.executable ? 0o755 : 0o644 })
    return { path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, downloaded: true }
  }
}
