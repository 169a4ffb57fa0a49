import { describe, expect, it } from '@jest/globals'
import type { NodeStep } from '../../../src/core/upgrade/order.js'
import {
  runWave,
  UpgradeStopped,
  type WaveDriver,
  type WaveMemory,
  type WaveOptions
} from '../../../src/core/upgrade/wave.js'

interface SimNode {
  version: string
  ready: boolean
  cordoned: boolean
  pdb?: string
  onUpgrade?: 'fallback' | 'never-back' | 'fail'
}

/** A cluster in memory that changes the way the wave's commands say, and records them in order. */
function cluster(versions: Record<string, string>, extra: Record<string, Partial<SimNode>> = {}) {
  const nodes: Record<string, SimNode> = {}
  for (const [id, version] of Object.entries(versions))
    nodes[id] = { version, ready: true, cordoned: false, ...extra[id] }
  const calls: string[] = []
  let etcd = { ok: true, seen: 'every server has EtcdIsVoter=True' }
  const driver: WaveDriver = {
    observe: async (s) => ({ ...nodes[s.node] }),
    etcd: async () => etcd,
    cordon: async (s) => {
      calls.push(`cordon ${s.node}`)
      nodes[s.node].cordoned = true
    },
    uncordon: async (s) => {
      calls.push(`uncordon ${s.node}`)
      nodes[s.node].cordoned = false
    },
    drain: async (s) => {
      calls.push(`drain ${s.node}`)
      const pdb = nodes[s.node].pdb
      return pdb
        ? { ok: false, blocker: `Cannot evict pod as it would violate the pod's disruption budget ${pdb}` }
        : { ok: true }
    },
    upgrade: async (s, hop) => {
      calls.push(`upgrade ${s.node} ${hop.to}`)
      const n = nodes[s.node]
      if (n.onUpgrade === 'fail') throw new Error('install.sh exited 1')
      if (n.onUpgrade === 'never-back') {
        n.ready = false
        n.version = hop.to
        return
      }
      if (n.onUpgrade !== 'fallback') n.version = hop.to
    }
  }
  return {
    nodes,
    calls,
    driver,
    setEtcd: (e: typeof etcd) => {
      etcd = e
    }
  }
}

const step = (node: string, role: 'controlplane' | 'worker', from: string, to: string): NodeStep => ({
  node,
  role,
  ip: '10.0.0.1',
  from,
  to,
  action: 'upgrade',
  reason: ''
})
const OLD = 'v1.31.3+k3s1'
const NEW = 'v1.31.4+k3s1'
const order = [
  step('cp1', 'controlplane', OLD, NEW),
  step('cp2', 'controlplane', OLD, NEW),
  step('cp3', 'controlplane', OLD, NEW),
  step('w1', 'worker', OLD, NEW)
]
const hop = [{ from: OLD, to: NEW }]
const all = (v: string) => ({ cp1: v, cp2: v, cp3: v, w1: v })

function options(
  memory: WaveMemory = { cordoned: [], fallbacks: {} },
  over: Partial<WaveOptions> = {}
): WaveOptions & { saves: number } {
  let t = 0
  const o = {
    abFallback: false,
    drainTimeoutMs: 30_000,
    readyTimeoutMs: 5_000,
    pollMs: 1000,
    saves: 0,
    sleep: async (ms: number) => {
      t += ms
    },
    now: () => (t += 10),
    memory,
    save: async () => {
      o.saves++
    },
    ...over
  }
  return o
}

async function stopped(p: Promise<unknown>): Promise<UpgradeStopped> {
  try {
    await p
  } catch (e) {
    if (e instanceof UpgradeStopped) return e
    throw e
  }
  throw new Error('the wave did not stop')
}

describe('the upgrade wave', () => {
  it('upgrades one node at a time, servers before agents: cordon, drain, upgrade, Ready, uncordon', async () => {
    const c = cluster(all(OLD))
    const o = options()
    const timings = await runWave(order, hop, c.driver, o)
    expect(c.calls).toEqual(
      ['cp1', 'cp2', 'cp3', 'w1'].flatMap((n) => [`cordon ${n}`, `drain ${n}`, `upgrade ${n} ${NEW}`, `uncordon ${n}`])
    )
    expect(Object.values(c.nodes).every((n) => n.version === NEW && !n.cordoned)).toBe(true)
    expect(timings.map((t) => `${t.node}:${t.outcome}:${t.steps.map((s) => s.step).join('/')}`)).toEqual(
      ['cp1', 'cp2', 'cp3', 'w1'].map((n) => `${n}:upgraded:cordon/drain/upgrade/ready/uncordon`)
    )
    expect(timings[0].steps.every((s) => s.ms > 0)).toBe(true)
    expect(o.memory.cordoned).toEqual([])
  })

  it('touches no node when a node is not Ready before the first one', async () => {
    const c = cluster(all(OLD), { w1: { ready: false } })
    const e = await stopped(runWave(order, hop, c.driver, options()))
    expect(c.calls).toEqual([])
    expect(e.message).toBe(
      `node w1: upgrade failed: before: every node Ready gate: w1 is not Ready (at ${OLD}); no node was touched. To resume: re-run the same command: nodes already at the new version are skipped and the wave resumes at this node`
    )
  })

  it('touches no node when etcd is not healthy before the first one', async () => {
    const c = cluster(all(OLD))
    c.setEtcd({ ok: false, seen: 'cp3 has EtcdIsVoter=False (learner)' })
    const e = await stopped(runWave(order, hop, c.driver, options()))
    expect(c.calls).toEqual([])
    expect(e.gate).toBe('before: etcd healthy')
    expect(e.seen).toContain('cp3 has EtcdIsVoter=False (learner)')
  })

  it('stops at a drain blocked by a PodDisruptionBudget, names it, uncordons the node and leaves the rest untouched; a re-run finishes', async () => {
    const c = cluster(all(OLD), { cp2: { pdb: 'web/web-pdb' } })
    const memory: WaveMemory = { cordoned: [], fallbacks: {} }
    const e = await stopped(runWave(order, hop, c.driver, options(memory)))
    expect(e.node).toBe('cp2')
    expect(e.gate).toBe('drain')
    expect(e.seen).toBe(
      "drain gate: drain did not finish within 30s: Cannot evict pod as it would violate the pod's disruption budget web/web-pdb; cp2 uncordoned, the nodes after it untouched"
    )
    expect(e.message).toContain('To resume: re-run the same command')
    expect(c.nodes.cp2).toMatchObject({ version: OLD, cordoned: false })
    expect(c.calls.filter((x) => /cp3|w1/.test(x))).toEqual([])
    expect(memory.cordoned).toEqual([])

    c.nodes.cp2.pdb = undefined
    c.calls.length = 0
    const timings = await runWave(order, hop, c.driver, options(memory))
    expect(timings.map((t) => t.outcome)).toEqual(['skipped', 'upgraded', 'upgraded', 'upgraded'])
    expect(c.calls[0]).toBe('cordon cp2')
  })

  it('never uncordons a node it did not cordon', async () => {
    const c = cluster(all(OLD), { cp1: { cordoned: true } })
    await runWave(order, hop, c.driver, options())
    expect(c.calls.slice(0, 3)).toEqual(['drain cp1', `upgrade cp1 ${NEW}`, 'cordon cp2'])
    expect(c.nodes.cp1.cordoned).toBe(true)
  })

  it('uncordons on a re-run a node an earlier run cordoned and was cut off before uncordoning', async () => {
    const c = cluster({ ...all(OLD), cp1: NEW }, { cp1: { cordoned: true } })
    const memory: WaveMemory = { cordoned: ['cp1'], fallbacks: {} }
    await runWave(order, hop, c.driver, options(memory))
    expect(c.calls[0]).toBe('uncordon cp1')
    expect(c.nodes.cp1.cordoned).toBe(false)
  })

  it('stops when the upgrade command fails, uncordoning the node that is still healthy at the old version', async () => {
    const c = cluster(all(OLD), { cp1: { onUpgrade: 'fail' } })
    const e = await stopped(runWave(order, hop, c.driver, options()))
    expect(e.seen).toBe('upgrade gate: install.sh exited 1; cp1 uncordoned, the nodes after it untouched')
    expect(c.nodes.cp1.cordoned).toBe(false)
    expect(c.calls.some((x) => x.includes('cp2'))).toBe(false)
  })

  it('stops when a node never comes back, leaving it cordoned and the rest untouched', async () => {
    const c = cluster(all(OLD), { cp2: { onUpgrade: 'never-back' } })
    const e = await stopped(runWave(order, hop, c.driver, options()))
    expect(e.node).toBe('cp2')
    expect(e.seen).toBe(
      `ready gate: not Ready at ${NEW} within 5s (last seen: not Ready at ${NEW}); cp2 left cordoned, the nodes after it untouched`
    )
    expect(c.nodes.cp2.cordoned).toBe(true)
    expect(c.calls.some((x) => x.includes('cp3'))).toBe(false)
  })

  it('waits for etcd to be healthy again after each node before moving on', async () => {
    const c = cluster(all(OLD))
    let checks = 0
    c.driver.etcd = async () => (++checks === 2 ? { ok: false, seen: 'cp1 is a learner' } : { ok: true, seen: '' })
    const timings = await runWave(order, hop, c.driver, options())
    expect(checks).toBeGreaterThan(5)
    expect(timings.every((t) => t.outcome === 'upgraded')).toBe(true)
  })

  it('stops on a Talos A/B fallback, records it and never retries that node automatically', async () => {
    const c = cluster({ cp1: 'v1.9.6', cp2: 'v1.9.6', cp3: 'v1.9.6' }, { cp2: { onUpgrade: 'fallback' } })
    const talosOrder = order.slice(0, 3).map((s) => ({ ...s, from: 'v1.9.6', to: 'v1.10.3' }))
    const talosHop = [{ from: 'v1.9.6', to: 'v1.10.3' }]
    const memory: WaveMemory = { cordoned: [], fallbacks: {} }
    const e = await stopped(runWave(talosOrder, talosHop, c.driver, options(memory, { abFallback: true })))
    expect(e.gate).toBe('fallback')
    expect(e.seen).toBe(
      'fallback gate: the node came back at v1.9.6, not v1.10.3 (A/B fallback to the old image); cp2 uncordoned, the nodes after it untouched'
    )
    expect(e.resume).toContain('not retried automatically')
    expect(memory.fallbacks.cp2).toMatchObject({ from: 'v1.9.6', to: 'v1.10.3' })

    c.calls.length = 0
    const again = await stopped(runWave(talosOrder, talosHop, c.driver, options(memory, { abFallback: true })))
    expect(again.gate).toBe('fallback')
    expect(c.calls).toEqual([])

    // Another target is the operator's explicit decision: the wave goes ahead.
    c.nodes.cp2.onUpgrade = undefined
    const other = [{ from: 'v1.9.6', to: 'v1.10.4' }]
    await runWave(
      talosOrder.map((s) => ({ ...s, to: 'v1.10.4' })),
      other,
      c.driver,
      options(memory, { abFallback: true })
    )
    expect(Object.values(c.nodes).map((n) => n.version)).toEqual(['v1.10.4', 'v1.10.4', 'v1.10.4'])
  })

  it('drops a fallback record once the node reached that target by hand, and resumes after it', async () => {
    const c = cluster({ cp1: 'v1.9.6', cp2: 'v1.9.6', cp3: 'v1.9.6' }, { cp2: { onUpgrade: 'fallback' } })
    const talosOrder = order.slice(0, 3).map((s) => ({ ...s, from: 'v1.9.6', to: 'v1.10.3' }))
    const talosHop = [{ from: 'v1.9.6', to: 'v1.10.3' }]
    const memory: WaveMemory = { cordoned: [], fallbacks: {} }
    await stopped(runWave(talosOrder, talosHop, c.driver, options(memory, { abFallback: true })))
    c.nodes.cp2.version = 'v1.10.3'
    c.calls.length = 0
    await runWave(talosOrder, talosHop, c.driver, options(memory, { abFallback: true }))
    expect(memory.fallbacks).toEqual({})
    expect(c.calls.filter((x) => x.startsWith('upgrade'))).toEqual(['upgrade cp3 v1.10.3'])
  })

  it('keeps the fallback record while the node is still at its old version or not Ready', async () => {
    const c = cluster({ cp1: 'v1.10.3', cp2: 'v1.10.3', cp3: 'v1.9.6' })
    const memory: WaveMemory = {
      cordoned: [],
      fallbacks: { cp3: { from: 'v1.9.6', to: 'v1.10.3', at: '2026-12-07T00:00:00.000Z' } }
    }
    const talosOrder = order.slice(0, 3).map((s) => ({ ...s, from: 'v1.9.6', to: 'v1.10.3' }))
    c.nodes.cp3.ready = false
    c.nodes.cp3.version = 'v1.10.3'
    const e = await stopped(runWave(talosOrder, [{ from: 'v1.9.6', to: 'v1.10.3' }], c.driver, options(memory)))
    expect(e.gate).toBe('fallback')
    expect(memory.fallbacks.cp3).toBeDefined()
    expect(c.calls).toEqual([])
  })

  it('stops before any node when the cluster cannot be observed (etcd without quorum), naming what was seen', async () => {
    const c = cluster(all(OLD))
    c.driver.observe = async () => {
      throw new Error('k3s kubectl get: k3s-cp1: Error from server: etcdserver: request timed out')
    }
    const e = await stopped(runWave(order, hop, c.driver, options()))
    expect(e.gate).toBe('before: every node Ready')
    expect(e.seen).toBe(
      'before: every node Ready gate: cp1 could not be observed: k3s kubectl get: k3s-cp1: Error from server: etcdserver: request timed out; no node was touched'
    )
    expect(c.calls).toEqual([])
  })

  it('walks every node through a stepping stone before any node goes to the target', async () => {
    const c = cluster(all('v1.30.2+k3s1'))
    const hops = [
      { from: 'v1.30.2+k3s1', to: 'v1.30.14+k3s2' },
      { from: 'v1.30.14+k3s2', to: 'v1.31.3+k3s1' }
    ]
    await runWave(order, hops, c.driver, options())
    expect(c.calls.filter((x) => x.startsWith('upgrade'))).toEqual([
      ...['cp1', 'cp2', 'cp3', 'w1'].map((n) => `upgrade ${n} v1.30.14+k3s2`),
      ...['cp1', 'cp2', 'cp3', 'w1'].map((n) => `upgrade ${n} v1.31.3+k3s1`)
    ])
  })

  it('never takes a node already at the target back down to a stepping stone', async () => {
    const c = cluster({ ...all('v1.30.2+k3s1'), cp1: 'v1.31.3+k3s1' })
    const hops = [
      { from: 'v1.30.2+k3s1', to: 'v1.30.14+k3s2' },
      { from: 'v1.30.14+k3s2', to: 'v1.31.3+k3s1' }
    ]
    await runWave(order, hops, c.driver, options())
    expect(c.calls.filter((x) => x.startsWith('upgrade cp1'))).toEqual([])
    expect(c.nodes.w1.version).toBe('v1.31.3+k3s1')
  })

  it('lets a drain that cordons by itself do the cordon, and still counts the cordon as its own', async () => {
    const c = cluster(all(OLD))
    c.driver.drainCordons = true
    const inner = c.driver.drain
    c.driver.drain = async (s, t) => {
      c.nodes[s.node].cordoned = true
      return inner(s, t)
    }
    const memory: WaveMemory = { cordoned: [], fallbacks: {} }
    await runWave(order, hop, c.driver, options(memory))
    expect(c.calls.filter((x) => x.startsWith('cordon'))).toEqual([])
    expect(c.calls.filter((x) => x.startsWith('uncordon'))).toEqual([
      'uncordon cp1',
      'uncordon cp2',
      'uncordon cp3',
      'uncordon w1'
    ])
    expect(Object.values(c.nodes).every((n) => !n.cordoned)).toBe(true)
  })

  it('looks at the next node while the last one is uncordoned, but drains it only once the uncordon is done', async () => {
    const c = cluster(all(OLD))
    const events: string[] = []
    let finishUncordon: (() => void) | undefined
    const observe = c.driver.observe
    c.driver.observe = async (s) => {
      events.push(`observe ${s.node}`)
      return observe(s)
    }
    const uncordon = c.driver.uncordon
    c.driver.uncordon = async (s) => {
      events.push(`uncordon ${s.node} started`)
      // The uncordon finishes only after the next node has been looked at (or at the wave's end).
      await new Promise<void>((resolve) => (finishUncordon = resolve))
      await uncordon(s)
      events.push(`uncordon ${s.node} done`)
    }
    const drain = c.driver.drain
    c.driver.drain = async (s, t) => {
      events.push(`drain ${s.node}`)
      return drain(s, t)
    }
    const sleep = async (): Promise<void> => {
      await new Promise((r) => setImmediate(r))
    }
    const wave = runWave(order.slice(0, 2), hop, c.driver, options(undefined, { sleep }))
    const until = async (seen: () => boolean): Promise<void> => {
      for (let i = 0; i < 1000 && !seen(); i++) await new Promise((r) => setImmediate(r))
    }
    const afterCp1 = (): string[] => events.slice(events.indexOf('uncordon cp1 started') + 1)
    // Let the wave run until it waits on cp1's uncordon and has asked about cp2 meanwhile.
    await until(() => events.includes('uncordon cp1 started') && afterCp1().includes('observe cp2'))
    expect(afterCp1()).toEqual(['observe cp2'])
    finishUncordon!()
    await until(() => events.includes('uncordon cp2 started'))
    finishUncordon!()
    await wave
    expect(events.indexOf('drain cp2')).toBeGreaterThan(events.indexOf('uncordon cp1 done'))
    expect(events.at(-1)).toBe('uncordon cp2 done')
    expect(Object.values(c.nodes).every((n) => !n.cordoned)).toBe(true)
  })

  it('stops with the uncordon error when the previous node cannot be uncordoned, before the next drain', async () => {
    const c = cluster(all(OLD))
    c.driver.uncordon = async (s) => {
      c.calls.push(`uncordon ${s.node}`)
      throw new Error('k3s kubectl uncordon: connection refused')
    }
    await expect(runWave(order, hop, c.driver, options())).rejects.toThrow(/uncordon: connection refused/)
    expect(c.calls).toEqual(['cordon cp1', 'drain cp1', `upgrade cp1 ${NEW}`, 'uncordon cp1'])
  })
})
