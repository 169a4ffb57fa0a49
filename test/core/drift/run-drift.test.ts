import { describe, expect, it } from '@jest/globals'
import { normalizeFindings, runDrift } from '../../../src/core/drift/run-drift.js'
import { summarizeDrift } from '../../../src/core/drift/summary.js'
import type { DriftObservers } from '../../../src/core/drift/observers.js'
import type { DriftFinding } from '../../../src/core/drift/types.js'
import type { PhaseContext, PhaseModule } from '../../../src/core/phases/types.js'
import { labMap, makeCluster, makeCtx, makeWorld } from './fixtures.js'

const MUTATING = ['setPower', 'reset', 'writeUart', 'startFlash', 'upload', 'cancelFlash']

function tcpFake(up: Set<string>): DriftObservers & { calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    timeoutMs: 50,
    tcpConnect: async (host, port) => {
      calls.push(`${host}:${port}`)
      return up.has(`${host}:${port}`)
    }
  }
}

function moduleReturning(rows: (ctx: PhaseContext) => DriftFinding[], seen?: string[][]): PhaseModule {
  return {
    name: 'install',
    scope: 'node',
    appliesTo: () => true,
    plan: async () => [],
    drift: async (ctx) => {
      seen?.push(ctx.nodes.map((n) => n.id))
      return rows(ctx)
    }
  }
}

describe('runDrift', () => {
  it('finds nothing when every slot is on, every node answers and modules agree', async () => {
    const cluster = makeCluster('k3s')
    const world = makeWorld(cluster)
    const findings = await runDrift(makeCtx(cluster, world.deps), [moduleReturning(() => [])], tcpFake(world.up))
    expect(findings).toEqual([])
    expect(summarizeDrift(findings)).toMatchObject({ status: 'in-sync', exitCode: 0 })
    expect(world.signals.map((sig) => sig.aborted)).toEqual([false])
  })

  it('probes K3s nodes over SSH at the mapped loopback address, never the LAN one', async () => {
    const cluster = makeCluster('k3s')
    const world = makeWorld(cluster)
    await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    expect(world.probes.sort()).toEqual([
      'ssh 127.10.0.1:2222',
      'ssh 127.10.0.2:2222',
      'ssh 127.10.0.3:2222',
      'ssh 127.10.0.4:2222'
    ])
  })

  it('connects to the Talos API port 50000 for Talos nodes', async () => {
    const cluster = makeCluster('talos', 1, 2)
    const world = makeWorld(cluster)
    const tcp = tcpFake(world.up)
    expect(await runDrift(makeCtx(cluster, world.deps), [], tcp)).toEqual([])
    expect(tcp.calls.sort()).toEqual(['127.10.0.1:50000', '127.10.0.2:50000', '127.20.0.1:443'])
    expect(world.probes).toEqual([])
  })

  it('reports a powered-off slot once as power drift fixed by boot, and does not probe that node', async () => {
    const cluster = makeCluster('k3s')
    const world = makeWorld(cluster, { tpi: { power: { 2: 'off' } } })
    const seen: string[][] = []
    const findings = await runDrift(makeCtx(cluster, world.deps), [moduleReturning(() => [], seen)], tcpFake(world.up))
    expect(findings).toEqual([
      {
        subject: 'node-1-2',
        field: 'power',
        wanted: 'on',
        found: 'off (board tpi slot 2)',
        kind: 'drift',
        fixedBy: ['boot'],
        path: ['workers', 0, 'node']
      }
    ])
    expect(world.probes).not.toContain('ssh 127.10.0.2:2222')
    expect(seen).toEqual([['node-1-1', 'node-1-3', 'node-1-4']])
    expect(summarizeDrift(findings)).toMatchObject({ status: 'drift', exitCode: 2 })
  })

  it('gives an unreachable BMC one row with the reason, making the result an error (exit 1)', async () => {
    const cluster = makeCluster('k3s')
    const world = makeWorld(cluster, { tpi: { aboutError: 'connect ECONNREFUSED 127.20.0.1:41234' } })
    const findings = await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    expect(findings).toEqual([
      {
        subject: 'board tpi',
        field: 'bmc',
        wanted: 'reachable at https://10.10.88.70',
        found: 'connect ECONNREFUSED 127.20.0.1:41234',
        kind: 'unreachable',
        fixedBy: [],
        path: ['bmc']
      }
    ])
    expect(summarizeDrift(findings)).toMatchObject({ status: 'error', exitCode: 1 })
    // The nodes are still checked: they may well be up while their BMC is not.
    expect(world.probes).toHaveLength(4)
  })

  it('gives a BMC whose port takes no connection one row without logging in (no login retries to wait for)', async () => {
    const cluster = makeCluster('talos', 1, 2)
    const world = makeWorld(cluster)
    world.up.delete('127.20.0.1:443')
    const tcp = tcpFake(world.up)
    const findings = await runDrift(makeCtx(cluster, world.deps), [], tcp)
    expect(findings).toEqual([
      {
        subject: 'board tpi',
        field: 'bmc',
        wanted: 'reachable at https://10.10.88.70',
        found: 'no connection to 10.10.88.70:443 (refused, or no answer within 0.05 s)',
        kind: 'unreachable',
        fixedBy: [],
        path: ['bmc']
      }
    ])
    expect(world.bmcs.get('tpi')!.calls).toEqual([])
    expect(tcp.calls.sort()).toEqual(['127.10.0.1:50000', '127.10.0.2:50000', '127.20.0.1:443'])
  })

  it('connects to the BMC at the port of its endpoint, through the address map', async () => {
    const cluster = makeCluster('talos', 1, 1)
    cluster.boardList[0]!.bmc.endpoint = 'https://10.10.88.70:8443'
    const world = makeWorld(cluster)
    world.up.add('127.20.0.1:8443')
    const tcp = tcpFake(world.up)
    expect(await runDrift(makeCtx(cluster, world.deps), [], tcp)).toEqual([])
    expect(tcp.calls).toContain('127.20.0.1:8443')
  })

  it('turns a BMC that never answers into an unreachable row after the observation limit, and abandons its client', async () => {
    const cluster = makeCluster('k3s', 1, 1)
    const world = makeWorld(cluster, { tpi: { hang: true } })
    const findings = await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    expect(findings).toHaveLength(1)
    expect(findings[0]).toMatchObject({
      subject: 'board tpi',
      kind: 'unreachable',
      found: 'no answer from the BMC of board tpi at https://10.10.88.70 within 0.05 s'
    })
    // The client's own requests and retries end with the signal instead of outliving the drift run.
    expect(world.signals.map((s) => s.aborted)).toEqual([true])
  })

  it('reports a power read that fails after login as a check that could not run', async () => {
    const cluster = makeCluster('k3s', 1, 1)
    const world = makeWorld(cluster, { tpi: { powerError: '500 Internal Server Error' } })
    const findings = await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    expect(findings).toEqual([
      {
        subject: 'board tpi',
        field: 'power',
        wanted: 'power state readable',
        found: '500 Internal Server Error',
        kind: 'unreachable',
        fixedBy: [],
        path: ['bmc']
      }
    ])
  })

  it('reports an unreachable node once and drops every module row about it', async () => {
    const cluster = makeCluster('k3s')
    const world = makeWorld(cluster)
    world.up.delete('127.10.0.3:2222')
    const seen: string[][] = []
    const module = moduleReturning(
      () =>
        cluster.nodes.map((n) => ({
          subject: n.id,
          field: 'k3s.version',
          wanted: 'v1.31.3+k3s1',
          found: 'v1.30.0+k3s1',
          kind: 'drift' as const,
          fixedBy: ['install' as const]
        })),
      seen
    )
    const findings = await runDrift(makeCtx(cluster, world.deps), [module], tcpFake(world.up))
    const about3 = findings.filter((f) => f.subject === 'node-1-3')
    expect(about3).toEqual([
      {
        subject: 'node-1-3',
        field: 'reachable',
        wanted: 'SSH answering at 10.10.88.73:22',
        found: 'no SSH banner within 0.05 s',
        kind: 'unreachable',
        fixedBy: [],
        path: ['workers', 1, 'ip']
      }
    ])
    expect(seen).toEqual([['node-1-1', 'node-1-2', 'node-1-4']])
    expect(findings.filter((f) => f.field === 'k3s.version').map((f) => f.subject)).toEqual([
      'node-1-1',
      'node-1-2',
      'node-1-4'
    ])
  })

  it('passes module findings through with their wanted and found values, each once', async () => {
    const cluster = makeCluster('k3s', 1, 2)
    const world = makeWorld(cluster)
    const row: DriftFinding = {
      subject: 'metallb',
      field: 'addon.metallb.version',
      wanted: '0.14.9',
      found: '0.14.5',
      kind: 'drift',
      fixedBy: ['addons'],
      path: ['addons', 'metallb']
    }
    const findings = await runDrift(
      makeCtx(cluster, world.deps),
      [moduleReturning(() => [row, { ...row }])],
      tcpFake(world.up)
    )
    expect(findings).toEqual([row])
  })

  it('turns a module whose drift check throws into an error row named after the module', async () => {
    const cluster = makeCluster('k3s', 1, 1)
    const world = makeWorld(cluster)
    const broken: PhaseModule = {
      ...moduleReturning(() => []),
      name: 'addons',
      drift: async () => Promise.reject(new Error('helm list: exit 1'))
    }
    const findings = await runDrift(makeCtx(cluster, world.deps), [broken], tcpFake(world.up))
    expect(findings).toEqual([
      {
        subject: 'addons',
        field: 'drift check',
        wanted: 'completed',
        found: 'helm list: exit 1',
        kind: 'unreachable',
        fixedBy: []
      }
    ])
    expect(summarizeDrift(findings).status).toBe('error')
  })

  it('skips modules that do not apply to the cluster kind, and all modules when no node answers', async () => {
    const cluster = makeCluster('talos', 1, 1)
    const world = makeWorld(cluster)
    const calls: string[] = []
    const k3sOnly: PhaseModule = {
      ...moduleReturning(() => []),
      name: 'npu',
      appliesTo: (c) => c.kind === 'k3s',
      drift: async () => (calls.push('npu'), [])
    }
    const any: PhaseModule = { ...moduleReturning(() => []), drift: async () => (calls.push('install'), []) }
    await runDrift(makeCtx(cluster, world.deps), [k3sOnly, any], tcpFake(world.up))
    expect(calls).toEqual(['install'])
    world.up.delete('127.10.0.1:50000')
    calls.length = 0
    const findings = await runDrift(makeCtx(cluster, world.deps), [k3sOnly, any], tcpFake(world.up))
    expect(calls).toEqual([])
    expect(findings.map((f) => `${f.subject}:${f.kind}`)).toEqual(['node-1-1:unreachable'])
  })

  it('flags a slot holding another compute module as hardware drift no deploy fixes', async () => {
    const cluster = makeCluster('k3s', 1, 1)
    const world = makeWorld(cluster, {
      tpi: { nodeInfo: [{ slot: 1, name: 'Node 1', moduleName: 'CM4', powerOnTime: 3, uartBaud: 115200 }] }
    })
    const findings = await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    expect(findings).toEqual([
      {
        subject: 'node-1-1',
        field: 'module',
        wanted: 'RK1',
        found: 'CM4 (board tpi slot 1)',
        kind: 'drift',
        fixedBy: [],
        path: ['control_plane', 'node']
      }
    ])
  })

  it('skips the module check on firmware without node_info, without failing', async () => {
    const cluster = makeCluster('k3s', 1, 1)
    const world = makeWorld(cluster, { tpi: { nodeInfo: 'error' } })
    const ctx = makeCtx(cluster, world.deps)
    expect(await runDrift(ctx, [], tcpFake(world.up))).toEqual([])
    expect(ctx.reporter.text()).toContain(
      'debug: board tpi: node info not available (404 Not Found); module check skipped'
    )
  })

  it('only reads from the BMC: about, power and node info', async () => {
    const cluster = makeCluster('k3s', 2, 4)
    const world = makeWorld(cluster, { tpi1: { power: { 1: 'off' } } })
    await runDrift(makeCtx(cluster, world.deps), [], tcpFake(world.up))
    for (const bmc of world.bmcs.values()) {
      expect(bmc.calls.filter((c) => MUTATING.includes(c))).toEqual([])
      expect(bmc.calls).toEqual(['about', 'power', 'nodeInfo'])
    }
  })

  it('checks only the boards and nodes selected for the run', async () => {
    const cluster = makeCluster('k3s', 2, 2)
    const world = makeWorld(cluster, { tpi2: { aboutError: 'down' } })
    const ctx = { ...makeCtx(cluster, world.deps), nodes: cluster.nodes.filter((n) => n.board === 'tpi1') }
    expect(await runDrift(ctx, [], tcpFake(world.up))).toEqual([])
    expect(world.bmcs.get('tpi2')!.calls).toEqual([])
    expect(world.probes.sort()).toEqual(['ssh 127.10.0.1:2222', 'ssh 127.10.0.2:2222'])
  })

  it('maps lab addresses the way the lab does', () => {
    expect(labMap('10.10.89.72', 22)).toEqual({ host: '127.10.1.2', port: 2222 })
    expect(labMap('10.10.89.70', 443)).toEqual({ host: '127.20.1.1', port: 443 })
  })
})

describe('normalizeFindings', () => {
  const row = (subject: string, field: string, more: Partial<DriftFinding> = {}): DriftFinding => ({
    subject,
    field,
    wanted: 'w',
    found: 'f',
    kind: 'drift',
    fixedBy: [],
    ...more
  })

  it('drops a symptom row of a subject that has another row, and keeps it when nothing else explains it', () => {
    const rows = normalizeFindings(
      [],
      [
        row('k3s-w2', 'k3s.service.k3s-agent', { fixedBy: ['join'] }),
        row('k3s-w2', 'k3s.node.ready', { symptom: true }),
        row('k3s-w3', 'k3s.node.ready', { symptom: true })
      ],
      new Set()
    )
    expect(rows).toEqual([
      row('k3s-w2', 'k3s.service.k3s-agent', { fixedBy: ['join'] }),
      row('k3s-w3', 'k3s.node.ready')
    ])
    expect(rows.some((r) => 'symptom' in r)).toBe(false)
  })

  it('keeps one of two symptom rows of the same subject when no cause is reported', () => {
    const rows = normalizeFindings(
      [],
      [row('k3s-w1', 'npu.driver', { symptom: true }), row('k3s-w1', 'npu.driver', { symptom: true })],
      new Set()
    )
    expect(rows).toEqual([row('k3s-w1', 'npu.driver')])
  })

  it('reports the same host-key row from several modules once', () => {
    const hostKey = row('k3s-w1', 'ssh.host-key', { fixedBy: ['flash', 'boot', 'os-bootstrap', 'join'] })
    expect(normalizeFindings([], [{ ...hostKey }, { ...hostKey }, { ...hostKey }], new Set())).toEqual([hostKey])
  })
})
