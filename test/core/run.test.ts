import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Deps } from '../../src/core/deps.js'
import type { PhaseModule } from '../../src/core/phases/types.js'
import { MemoryReporter } from '../../src/core/reporter.js'
import { execute, type Engine } from '../../src/core/run.js'
import { StateStore } from '../../src/core/state/store.js'
import type { RunSettings } from '../../src/core/settings.js'
import { BASE_K3S } from './config/base.js'
import { testSettings } from './context.js'

function settings(overrides: Partial<RunSettings> = {}): RunSettings {
  const dir = mkdtempSync(join(tmpdir(), 'run-'))
  writeFileSync(join(dir, 'cluster.yaml'), BASE_K3S + 'addons: { metallb: true }\n')
  writeFileSync(join(dir, 'armbian.img'), '') // a local image must exist at validate time
  return testSettings(dir, overrides)
}

const noDeps = async (): Promise<Deps> => ({}) as Deps

/** Records the order in which steps run; `failOn` makes one node's step throw. */
function recordingModules(log: string[], failOn?: { phase: string; node: string }): PhaseModule[] {
  const nodeModule = (name: 'flash' | 'boot' | 'os-bootstrap'): PhaseModule => ({
    name,
    scope: 'node',
    appliesTo: () => true,
    plan: async (ctx) =>
      ctx.nodes.map((n) => ({ phase: name, node: n.id, action: 'skip', reason: 'observed: already done' })),
    runNode: async (_ctx, node) => {
      if (failOn?.phase === name && failOn.node === node.id) throw new Error('USB interface not found')
      log.push(`${name}:${node.id}`)
      return { changed: true, summary: 'done' }
    }
  })
  const clusterModule = (name: 'install' | 'join' | 'addons'): PhaseModule => ({
    name,
    scope: 'cluster',
    appliesTo: () => true,
    plan: async () => [],
    run: async () => {
      log.push(name)
      return { changed: false, summary: 'ok' }
    }
  })
  return [
    nodeModule('flash'),
    nodeModule('boot'),
    nodeModule('os-bootstrap'),
    clusterModule('install'),
    clusterModule('join'),
    clusterModule('addons')
  ]
}

describe('execute', () => {
  it('validate loads the file and touches nothing else', async () => {
    const r = await execute(
      settings({ command: 'validate' }),
      async () => {
        throw new Error('no deps for validate')
      },
      new MemoryReporter(),
      { modules: [] }
    )
    expect(r.status).toBe('ok')
    expect(r.cluster?.nodes).toHaveLength(3)
  })

  it('deploy runs node phases per node, then cluster phases once, and records phase times', async () => {
    const log: string[] = []
    const r = await execute(settings(), noDeps, new MemoryReporter(), { modules: recordingModules(log) })
    expect(r.status).toBe('ok')
    expect(log).toEqual([
      'flash:cp',
      'flash:w1',
      'flash:w2',
      'boot:cp',
      'boot:w1',
      'boot:w2',
      'os-bootstrap:cp',
      'os-bootstrap:w1',
      'os-bootstrap:w2',
      'install',
      'join',
      'addons'
    ])
    expect(Object.keys(r.outputs.timings)).toEqual(['flash', 'boot', 'os-bootstrap', 'install', 'join', 'addons'])
  })

  it('restricts a deploy to the selected phases and nodes', async () => {
    const log: string[] = []
    await execute(settings({ phases: ['boot', 'addons'], nodes: ['w2'] }), noDeps, new MemoryReporter(), {
      modules: recordingModules(log)
    })
    expect(log).toEqual(['boot:w2', 'addons'])
  })

  it('a failing step names the node, the phase, what was seen and how to resume', async () => {
    const log: string[] = []
    const r = await execute(settings(), noDeps, new MemoryReporter(), {
      modules: recordingModules(log, { phase: 'flash', node: 'w1' })
    })
    expect(r.status).toBe('failed')
    expect(r.error?.message).toBe(
      'node w1: flash failed: USB interface not found. To resume: re-run the same command; finished nodes and phases are skipped'
    )
    expect(log).toEqual(['flash:cp'])
  })

  it('records each step on one wall clock with its outcome, the failed one included, for the timeline', async () => {
    const before = Date.now()
    const r = await execute(settings(), noDeps, new MemoryReporter(), {
      modules: recordingModules([], { phase: 'boot', node: 'w1' })
    })
    const after = Date.now()
    expect(r.steps?.map((s) => [s.phase, s.node ?? '(cluster)', s.outcome])).toEqual([
      ['flash', 'cp', 'changed'],
      ['flash', 'w1', 'changed'],
      ['flash', 'w2', 'changed'],
      ['boot', 'cp', 'changed'],
      ['boot', 'w1', 'failed']
    ])
    for (const s of r.steps ?? []) expect(before <= s.start && s.start <= s.end && s.end <= after).toBe(true)
    const ok = await execute(settings(), noDeps, new MemoryReporter(), { modules: recordingModules([]) })
    expect(ok.steps?.filter((s) => !s.node).map((s) => [s.phase, s.outcome])).toEqual([
      ['install', 'unchanged'],
      ['join', 'unchanged'],
      ['addons', 'unchanged']
    ])
  })

  it('refuses to start when a settings check fails, before any phase runs', async () => {
    const log: string[] = []
    const engine: Engine = {
      modules: recordingModules(log),
      checkSettings: () => [
        { code: 'ConfirmMissing', path: 'confirm', message: 'reflash needs confirm', severity: 'error' }
      ]
    }
    const r = await execute(settings({ reflash: true }), noDeps, new MemoryReporter(), engine)
    expect(r.status).toBe('invalid')
    expect(log).toEqual([])
  })

  it('releases the board lock even when the deploy fails', async () => {
    const events: string[] = []
    const engine: Engine = {
      modules: recordingModules([], { phase: 'flash', node: 'cp' }),
      lock: async () => {
        events.push('locked')
        return async () => {
          events.push('released')
        }
      }
    }
    const r = await execute(settings(), noDeps, new MemoryReporter(), engine)
    expect(r.status).toBe('failed')
    expect(events).toEqual(['locked', 'released'])
  })

  it('a deploy reads the state again once it holds the lock: what the run it waited for recorded is seen, not overwritten', async () => {
    const s = settings()
    let seen: unknown
    const modules = recordingModules([])
      .slice(3, 4)
      .map((m): PhaseModule => ({
        ...m,
        run: async (ctx) => {
          seen = ctx.state.node('cp').hostKey
          await ctx.state.markDone('cp', 'install')
          return { changed: false, summary: 'ok' }
        }
      }))
    const r = await execute(s, noDeps, new MemoryReporter(), {
      modules,
      // While this run waits for the lock, the run holding it records a host key.
      lock: async () => {
        const other = await StateStore.open(s.stateDir, 'lab')
        other.node('cp').hostKey = 'SHA256:recorded-by-the-other-run'
        await other.save()
        return async () => {}
      }
    })
    expect(r.status).toBe('ok')
    expect(seen).toBe('SHA256:recorded-by-the-other-run')
    const disk = JSON.parse(readFileSync(join(s.stateDir, 'lab', 'state.json'), 'utf8')) as {
      nodes: { cp: { hostKey: string; phases: object } }
    }
    expect(disk.nodes.cp.hostKey).toBe('SHA256:recorded-by-the-other-run')
    expect(disk.nodes.cp.phases).toHaveProperty('install')
  })

  it('plan uses the modules that observe and the static plan for the others', async () => {
    const r = await execute(settings({ command: 'plan' }), noDeps, new MemoryReporter(), {
      modules: recordingModules([]).slice(0, 1)
    })
    expect(r.plan?.filter((s) => s.phase === 'flash').map((s) => s.action)).toEqual(['skip', 'skip', 'skip'])
    expect(r.plan?.find((s) => s.phase === 'install' && s.node === 'cp')?.reason).toBe(
      'install k3s v1.31.3+k3s1 as server (air-gapped)'
    )
    expect(r.plan?.filter((s) => s.phase === 'addons').map((s) => s.reason)).toEqual([
      'install metallb (not observed yet)'
    ])
  })

  it('drift with an unreachable subject is an error, with findings it is drift, without it is ok', async () => {
    const run = (findings: { kind: 'drift' | 'unreachable' }[]) =>
      execute(settings({ command: 'drift' }), noDeps, new MemoryReporter(), {
        modules: [],
        drift: async () =>
          findings.map((f) => ({ subject: 'cp', field: 'power', wanted: 'on', found: 'off', fixedBy: [], ...f }))
      })
    expect((await run([])).status).toBe('ok')
    expect((await run([{ kind: 'drift' }])).status).toBe('drift')
    expect((await run([{ kind: 'drift' }, { kind: 'unreachable' }])).status).toBe('error')
  })
})
