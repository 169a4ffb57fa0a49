import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Deps } from '../../src/core/deps.js'
import type { PhaseModule } from '../../src/core/phases/types.js'
import { MemoryReporter } from '../../src/core/reporter.js'
import { execute, type StepSpan } from '../../src/core/run.js'
import type { RunSettings } from '../../src/core/settings.js'
import { BASE_K3S } from './config/base.js'
import { testSettings } from './context.js'

// A node-scoped phase after the first cluster-scoped one (the NPU stack) runs on several nodes at once.
const FILE = BASE_K3S + 'npu_config: { install_rknn: true, rknn_version: "2.3.2" }\n'

function settings(overrides: Partial<RunSettings> = {}): RunSettings {
  const dir = mkdtempSync(join(tmpdir(), 'run-nodes-'))
  writeFileSync(join(dir, 'cluster.yaml'), FILE)
  writeFileSync(join(dir, 'armbian.img'), '')
  return testSettings(dir, overrides)
}

const noDeps = async (): Promise<Deps> => ({}) as Deps
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Probe {
  log: string[]
  inFlight: number
  most: number
}

/** install (cluster) → npu (node, `ms` per node, optionally failing on one) → join (cluster). */
function modules(probe: Probe, opts: { ms?: number; failOn?: string; nodeConcurrency?: number } = {}): PhaseModule[] {
  const cluster = (name: 'install' | 'join'): PhaseModule => ({
    name,
    scope: 'cluster',
    appliesTo: () => true,
    plan: async () => [],
    run: async () => {
      probe.log.push(`${name} (${probe.inFlight} npu in flight)`)
      return { changed: false, summary: 'ok' }
    }
  })
  const npu: PhaseModule = {
    name: 'npu',
    scope: 'node',
    ...(opts.nodeConcurrency ? { nodeConcurrency: opts.nodeConcurrency } : {}),
    appliesTo: () => true,
    plan: async () => [],
    runNode: async (ctx, node) => {
      probe.inFlight++
      probe.most = Math.max(probe.most, probe.inFlight)
      try {
        ctx.reporter.info('installing librknnrt.so')
        await tick(opts.ms ?? 60)
        if (opts.failOn === node.id) throw new Error('librknnrt.so: checksum mismatch')
        probe.log.push(`npu:${node.id}`)
        return { changed: true, summary: 'runtimes installed' }
      } finally {
        probe.inFlight--
      }
    }
  }
  return [cluster('install'), cluster('join'), npu]
}

const overlaps = (a: StepSpan, b: StepSpan) => a.start < b.end && b.start < a.end
const probe = (): Probe => ({ log: [], inFlight: 0, most: 0 })

describe('node-scoped phases after a cluster-scoped one', () => {
  it('run on every node at once, after the cluster phase before them and before the one after, and the timeline shows the overlap', async () => {
    const p = probe()
    const r = await execute(settings(), noDeps, new MemoryReporter(), { modules: modules(p) })
    expect(r.status).toBe('ok')
    expect(p.most).toBe(3)
    expect(p.log[0]).toBe('install (0 npu in flight)')
    expect(p.log.slice(1, 3)).toEqual(['join (0 npu in flight)', expect.stringMatching(/^npu:/)])
    expect(
      p.log
        .slice(1)
        .filter((l) => l.startsWith('npu:'))
        .sort()
    ).toEqual(['npu:cp', 'npu:w1', 'npu:w2'])
    const npu = r.steps!.filter((s) => s.phase === 'npu')
    expect(npu.map((s) => s.node).sort()).toEqual(['cp', 'w1', 'w2'])
    expect(overlaps(npu[0], npu[1]) && overlaps(npu[1], npu[2]) && overlaps(npu[0], npu[2])).toBe(true)
    const join = r.steps!.find((s) => s.phase === 'join')!
    for (const s of npu) expect(s.start).toBeGreaterThanOrEqual(join.end)
  })

  it('never works on more nodes at once than the run allows', async () => {
    const p = probe()
    const r = await execute(settings({ nodeConcurrency: 2 }), noDeps, new MemoryReporter(), {
      modules: modules(p)
    })
    expect(r.status).toBe('ok')
    expect(p.most).toBe(2)
  })

  it('stays serial when the phase module says so, whatever the run allows', async () => {
    const p = probe()
    const r = await execute(settings({ nodeConcurrency: 8 }), noDeps, new MemoryReporter(), {
      modules: modules(p, { nodeConcurrency: 1 })
    })
    expect(r.status).toBe('ok')
    expect(p.most).toBe(1)
    const npu = r.steps!.filter((s) => s.phase === 'npu')
    expect(npu.map((s) => s.node)).toEqual(['cp', 'w1', 'w2'])
    expect(overlaps(npu[0], npu[1]) || overlaps(npu[1], npu[2])).toBe(false)
  })

  it('keeps one group for the phase, with each node line prefixed by its node id', async () => {
    const reporter = new MemoryReporter()
    await execute(settings(), noDeps, reporter, { modules: modules(probe()) })
    const start = reporter.lines.indexOf('> npu')
    const end = reporter.lines.indexOf('< npu')
    expect(start).toBeGreaterThanOrEqual(0)
    const inside = reporter.lines.slice(start + 1, end)
    expect(inside.filter((l) => l.startsWith('> '))).toEqual([])
    expect(inside.filter((l) => l.endsWith('installing librknnrt.so')).sort()).toEqual([
      'cp: installing librknnrt.so',
      'w1: installing librknnrt.so',
      'w2: installing librknnrt.so'
    ])
    expect(inside.filter((l) => l.includes('npu: changed')).sort()).toEqual([
      'cp: npu: changed — runtimes installed',
      'w1: npu: changed — runtimes installed',
      'w2: npu: changed — runtimes installed'
    ])
  })

  it('a failure names the node, the phase and how to resume; the nodes already working finish, no later node starts, the next phase does not run', async () => {
    const p = probe()
    const reporter = new MemoryReporter()
    const r = await execute(settings({ nodeConcurrency: 2 }), noDeps, reporter, {
      modules: modules(p, { failOn: 'cp' })
    })
    expect(r.status).toBe('failed')
    expect(r.error?.message).toBe(
      'node cp: npu failed: librknnrt.so: checksum mismatch. To resume: re-run the same command; finished nodes and phases are skipped'
    )
    // w1 was working beside cp and finished; w2 had not started and was not started.
    expect(p.log.filter((l) => l.startsWith('npu:'))).toEqual(['npu:w1'])
    expect(r.steps!.filter((s) => s.phase === 'npu').map((s) => [s.node, s.outcome])).toEqual([
      ['cp', 'failed'],
      ['w1', 'changed']
    ])
    expect(reporter.lines).toContain('warning: npu: not started on w2 after cp failed; a re-run does them')
  })
})
