import { describe, expect, test } from '@jest/globals'
import { createTalosctl } from '../../../src/adapters/talosctl/exec-talosctl.js'
import type { LocalExec } from '../../../src/core/deps.js'

describe('talosctl adapter', () => {
  test('runs the binary with argv as given, the adapter env under the call env, cwd and default timeout', async () => {
    const calls: Parameters<LocalExec>[] = []
    const exec: LocalExec = async (...args) => {
      calls.push(args)
      return { stdout: 'ok', stderr: '', code: 0 }
    }
    const t = createTalosctl({
      exec,
      binary: '/cache/talosctl',
      cwd: '/repo',
      env: { A: '1', B: '1' },
      timeoutMs: 5000
    })
    expect(await t.run(['get', 'disks', '--insecure'], { env: { B: '2' } })).toEqual({
      stdout: 'ok',
      stderr: '',
      code: 0
    })
    expect(calls).toEqual([
      ['/cache/talosctl', ['get', 'disks', '--insecure'], { env: { A: '1', B: '2' }, timeoutMs: 5000, cwd: '/repo' }]
    ])
    expect(t.binary).toBe('/cache/talosctl')
  })

  test('a per-call timeout wins and stdin is passed through', async () => {
    let seen: Parameters<LocalExec>[2]
    const t = createTalosctl({
      exec: async (_f, _a, o) => ((seen = o), { stdout: '', stderr: '', code: 0 }),
      binary: 'talosctl',
      timeoutMs: 5000
    })
    await t.run(['version'], { timeoutMs: 10, stdin: 'x' })
    expect(seen).toEqual({ stdin: 'x', env: {}, timeoutMs: 10 })
  })
})
