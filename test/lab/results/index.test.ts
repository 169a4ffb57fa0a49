import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { DefaultArtifactClient } from '@actions/artifact'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startResultsService, type ResultsService } from '../../../lab/results/index.js'

const KEYS = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_RESULTS_URL', 'GITHUB_SERVER_URL'] as const

describe('fake Actions results service with the real @actions/artifact client', () => {
  let svc: ResultsService
  let dir: string
  let saved: Record<string, string | undefined>

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'results-test-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  beforeEach(async () => {
    svc = await startResultsService()
    saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]))
    delete process.env.GITHUB_SERVER_URL
    Object.assign(process.env, svc.env())
  })
  afterEach(async () => {
    for (const k of KEYS) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
    await svc.stop()
  })

  it('hands out an unsigned runtime token whose scp names run-1/job-1 and a loopback results URL', () => {
    const env = svc.env()
    const claims = JSON.parse(Buffer.from(env.ACTIONS_RUNTIME_TOKEN!.split('.')[1]!, 'base64url').toString()) as {
      scp: string
    }
    expect(claims.scp).toContain('Actions.Results:run-1:job-1')
    expect(env.ACTIONS_RESULTS_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
  })

  it('stores a skipArchive upload byte for byte, finalized with its sha256 and size', async () => {
    const data = randomBytes(300_000)
    await writeFile(join(dir, 'kubeconfig.age'), data)
    const client = new DefaultArtifactClient()
    const r = await client.uploadArtifact('ignored-name', [join(dir, 'kubeconfig.age')], dir, { skipArchive: true })
    const [a] = svc.artifacts()
    expect(a).toMatchObject({ name: 'kubeconfig.age', id: r.id, size: data.length })
    expect(a!.bytes.equals(data)).toBe(true)
    expect(a!.hash).toBe(`sha256:${createHash('sha256').update(data).digest('hex')}`)
    expect(svc.requests.some((q) => q.method === 'PUT' && q.status === 201)).toBe(true)
  })

  it('assembles a blob staged in several 8 MiB blocks in block-list order', async () => {
    const data = randomBytes(9 * 1024 * 1024)
    await writeFile(join(dir, 'big.bin'), data)
    await new DefaultArtifactClient().uploadArtifact('big', [join(dir, 'big.bin')], dir, { skipArchive: true })
    expect(svc.requests.filter((q) => q.method === 'PUT').length).toBeGreaterThanOrEqual(3) // 2 blocks + list
    expect(svc.artifacts()[0]!.bytes.equals(data)).toBe(true)
  })

  it('stores a zipped upload (a PK zip holding the file) and lists it', async () => {
    await writeFile(join(dir, 'talosconfig.age'), 'ciphertext')
    const client = new DefaultArtifactClient()
    const r = await client.uploadArtifact('credentials', [join(dir, 'talosconfig.age')], dir, { compressionLevel: 0 })
    const [a] = svc.artifacts()
    expect(a!.name).toBe('credentials')
    expect(a!.bytes.subarray(0, 2).toString()).toBe('PK')
    expect(a!.bytes.includes(Buffer.from('talosconfig.age'))).toBe(true)
    expect(r.size).toBe(a!.size)
    const listed = await client.listArtifacts()
    expect(listed.artifacts.map((x) => x.name)).toEqual(['credentials'])
  })

  it('refuses a second artifact with the same name (immutable per run)', async () => {
    await writeFile(join(dir, 'a.txt'), 'one')
    const client = new DefaultArtifactClient()
    await client.uploadArtifact('same', [join(dir, 'a.txt')], dir)
    await expect(client.uploadArtifact('same', [join(dir, 'a.txt')], dir)).rejects.toThrow(
      /409|already exists|non-retryable/i
    )
    expect(svc.artifacts()).toHaveLength(1)
  })

  it('fails the upload when CreateArtifact is made to answer a non-retryable 400', async () => {
    await writeFile(join(dir, 'b.txt'), 'two')
    svc.failNext('CreateArtifact', 400)
    await expect(new DefaultArtifactClient().uploadArtifact('x', [join(dir, 'b.txt')], dir)).rejects.toThrow(
      /non-retryable/
    )
    expect(svc.artifacts()).toHaveLength(0)
  })

  it('fails the upload when a blob PUT is made to answer 403', async () => {
    await writeFile(join(dir, 'c.txt'), 'three')
    svc.failNext('blob', 403, 10)
    await expect(
      new DefaultArtifactClient().uploadArtifact('y', [join(dir, 'c.txt')], dir, { skipArchive: true })
    ).rejects.toThrow()
    expect(svc.artifacts()).toHaveLength(0)
  })
})
