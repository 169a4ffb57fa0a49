import { describe, expect, it } from '@jest/globals'
import type { ArtifactRequest, CachedArtifact, Downloads } from '../../src/adapters/downloads/types.js'
import { MemoryReporter } from '../../src/core/reporter.js'
import { DEFAULT_NODE_CONCURRENCY, nodeLimit, nodeReporter, sharedFetches } from '../../src/core/node-steps.js'

const request = (fileName: string): ArtifactRequest => ({
  tool: 'rknn',
  version: '2.3.2',
  arch: 'arm64',
  url: `http://127.0.0.1/${fileName}`,
  upstream: `https://example.invalid/${fileName}`,
  fileName
})

describe('node steps', () => {
  it('the run limit applies unless the phase asks for fewer nodes at once; never below one', () => {
    expect(nodeLimit({}, {})).toBe(DEFAULT_NODE_CONCURRENCY)
    expect(nodeLimit({}, { nodeConcurrency: 2 })).toBe(2)
    expect(nodeLimit({ nodeConcurrency: 1 }, { nodeConcurrency: 8 })).toBe(1)
    expect(nodeLimit({ nodeConcurrency: 16 }, { nodeConcurrency: 3 })).toBe(3)
    expect(nodeLimit({}, { nodeConcurrency: 0 })).toBe(1)
  })

  it('nodes asking for the same artifact at once share one download; a later ask fetches again', async () => {
    let calls = 0
    let release = (): void => {}
    const gate = new Promise<void>((r) => (release = r))
    const inner: Downloads = {
      fetch: async (r): Promise<CachedArtifact> => {
        calls++
        await gate
        return { path: `/cache/${r.fileName}`, sha256: 'x', bytes: 1, downloaded: true }
      }
    }
    const shared = sharedFetches(inner)
    const asks = [shared.fetch(request('a.so')), shared.fetch(request('a.so')), shared.fetch(request('b.so'))]
    release()
    const got = await Promise.all(asks)
    expect(calls).toBe(2)
    expect(got.map((g) => g.path)).toEqual(['/cache/a.so', '/cache/a.so', '/cache/b.so'])
    await shared.fetch(request('a.so'))
    expect(calls).toBe(3)
  })

  it('a node reporter prefixes every line with the node id and keeps secrets masked', async () => {
    const base = new MemoryReporter()
    const r = nodeReporter(base, { id: 'w1' })
    r.secret('hunter22')
    r.info('token hunter22')
    r.warn('slow')
    await r.group('installing rkllama', async () => r.debug('step'))
    expect(base.lines).toEqual(['w1: token ***', 'warning: w1: slow', 'w1: installing rkllama', 'debug: w1: step'])
  })
})
