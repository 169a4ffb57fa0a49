// Downloading an artifact by id with the real @actions/artifact client against the lab's results service:
// an artifact of the current run through the results service, one of an earlier run through the REST
// API with the job's token (as restore by backup-artifact-id does), and the refusals GitHub gives.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ArtifactSink } from '../../../src/adapters/artifacts/types.js'
import { startResultsService, type ResultsService } from '../../../lab/results/index.js'

let results: ResultsService
let sink: ArtifactSink
let dir: string
const saved: Record<string, string | undefined> = {}

beforeAll(async () => {
  results = await startResultsService()
  for (const [k, v] of Object.entries({ ...results.env(), GITHUB_SERVER_URL: undefined })) {
    saved[k] = process.env[k]
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  // @actions/github reads GITHUB_API_URL when it is loaded, as in the action's process: import after the env.
  const { createActionsArtifactSink } = await import('../../../src/adapters/artifacts/actions-artifact.js')
  sink = createActionsArtifactSink()
  dir = await mkdtemp(join(tmpdir(), 'tpi-download-'))
})

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  await results.stop()
  await rm(dir, { recursive: true, force: true })
})

/** A new workflow run: its own runtime token, as the runner hands each job. */
function nextRun(): void {
  results.newRun()
  process.env.ACTIONS_RUNTIME_TOKEN = results.env().ACTIONS_RUNTIME_TOKEN
}

async function uploadBackup(content: string): Promise<number> {
  const folder = join(dir, `up-${Date.now()}`)
  await mkdir(folder)
  await writeFile(join(folder, 'backup.tar.age'), content)
  const up = await sink.upload('production-backup', [join(folder, 'backup.tar.age')], folder)
  return up.id!
}

describe('downloading an artifact by id', () => {
  it("of the current run: the artifact's files, unzipped, byte for byte", async () => {
    nextRun()
    const id = await uploadBackup('ciphertext of run A')
    const files = await sink.download!(id, join(dir, 'a'))
    expect(files).toEqual([join(dir, 'a', 'backup.tar.age')])
    expect(await readFile(files[0]!, 'utf8')).toBe('ciphertext of run A')
  })

  it("of an earlier run: only with the repository and the job's token, through the REST API", async () => {
    nextRun()
    const id = await uploadBackup('ciphertext of run B')
    nextRun()
    await expect(sink.download!(id, join(dir, 'b0'))).rejects.toThrow(/No artifacts found for ID/)
    const files = await sink.download!(id, join(dir, 'b'), {
      repository: results.repository,
      token: results.githubToken
    })
    expect(await readFile(files[0]!, 'utf8')).toBe('ciphertext of run B')
    expect(results.requests.filter((r) => r.path.endsWith(`/artifacts/${id}/zip`)).map((r) => r.status)).toEqual([302])
  })

  it('is refused with another token (401), another repository or an unknown id (404)', async () => {
    nextRun()
    const id = await uploadBackup('ciphertext of run C')
    nextRun()
    const from = { repository: results.repository, token: results.githubToken }
    await expect(sink.download!(id, join(dir, 'c1'), { ...from, token: 'ghs_other' })).rejects.toThrow(
      /Bad credentials/
    )
    await expect(sink.download!(id, join(dir, 'c2'), { ...from, repository: 'lab/other' })).rejects.toThrow(/Not Found/)
    await expect(sink.download!(id + 100, join(dir, 'c3'), from)).rejects.toThrow(/Not Found/)
  })
})
