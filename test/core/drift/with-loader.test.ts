// The drift framework on a cluster from the real loader: findings carry YAML paths that the loader's
// locate() turns into the line of the node in the file.
import { describe, expect, it } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseCluster } from '../../../src/core/config/load.js'
import type { BoardSpec } from '../../../src/core/config/model.js'
import type { Deps } from '../../../src/core/deps.js'
import { driftAnnotations } from '../../../src/core/drift/render.js'
import { runDrift } from '../../../src/core/drift/run-drift.js'
import { summarizeDrift } from '../../../src/core/drift/summary.js'
import { FakeBmc, makeCtx } from './fixtures.js'

const file = join(import.meta.dirname, '..', '..', '..', 'examples', 'two-boards.yaml')

describe('drift on examples/two-boards.yaml', () => {
  it('annotates a powered-off slot on the line of its node', async () => {
    const text = await readFile(file, 'utf8')
    const loaded = parseCluster(text, 'examples/two-boards.yaml')
    const cluster = loaded.cluster!
    expect(cluster).toBeDefined()
    const boards = new Map(cluster.boardList.map((b, i) => [b.name, i]))
    const address = new Map(cluster.nodes.map((n) => [n.ip, `127.10.${boards.get(n.board)}.${n.slot}`]))
    const bmcs = new Map(
      cluster.boardList.map((b) => [
        b.name,
        new FakeBmc(b.bmc.endpoint, b.name === 'rack-b' ? { power: { 3: 'off' } } : {})
      ])
    )
    const probed: string[] = []
    const deps = {
      bmc: async (board: BoardSpec) => bmcs.get(board.name)!,
      net: {
        map: (host: string, port: number) => ({ host: address.get(host) ?? host, port: port === 22 ? 2222 : port })
      },
      ssh: { probe: async (host: string, port: number) => (probed.push(`${host}:${port}`), 'SSH-2.0-OpenSSH_9.2p1') }
    } as unknown as Deps

    // Both BMCs take the connection (nothing listens at the test's addresses; the fake clients answer).
    const bmcPorts: string[] = []
    const tcpConnect = async (host: string, port: number): Promise<boolean> => (bmcPorts.push(`${host}:${port}`), true)
    const summary = summarizeDrift(await runDrift(makeCtx(cluster, deps), [], { tcpConnect }))
    expect(bmcPorts.sort()).toEqual(['10.10.88.70:443', '10.10.88.71:443'])
    expect(summary.rows.map((r) => [r.subject, r.field, r.found])).toEqual([
      ['agent-4', 'power', 'off (board rack-b slot 3)']
    ])
    expect(probed).toHaveLength(7)
    expect(probed.every((p) => /^127\.10\.[01]\.[1-4]:2222$/.test(p))).toBe(true)

    const [annotation] = driftAnnotations(summary, loaded.locate)
    const line = text.split('\n').findIndex((l) => l.includes('hostname: agent-4')) + 1
    expect(annotation.where).toMatchObject({ file: 'examples/two-boards.yaml', line })
  })
})
