import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import type { NodeSpec } from '../../../../../src/core/config/model.js'
import { reflashedSince } from '../../../../../src/core/kinds/k3s/lifecycle/node-passwords.js'
import {
  deleteNodePasswordArgv,
  deleteNodePasswordsScript
} from '../../../../../src/core/kinds/k3s/lifecycle/scripts.js'

const node = (id: string): NodeSpec => ({ id, hostname: `${id}.lan` }) as unknown as NodeSpec
const nodes = ['cp1', 'cp2', 'w1', 'w2'].map(node)

function state(flash: Record<string, string>) {
  return { done: (id: string, phase: string) => (phase === 'flash' && flash[id] ? { at: flash[id] } : undefined) }
}

describe('node-password Secrets to delete after a K3s restore', () => {
  const manifest = { createdAt: '2026-12-01T10:00:00.000Z' }

  test('only the nodes flashed after the backup was taken', () => {
    const picked = reflashedSince(
      nodes,
      state({
        cp1: '2026-11-20T08:00:00.000Z', // flashed before the backup: its password is in the snapshot
        cp2: '2026-12-05T09:00:00.000Z', // reflashed after it
        w2: '2026-12-01T10:00:00.001Z' // a millisecond after
        // w1: no flash record (installed on what was there): kept
      }),
      manifest
    )
    expect(picked.map((n) => n.id)).toEqual(['cp2', 'w2'])
  })

  test('none when no node was flashed since; every flashed node when the manifest time does not parse', () => {
    const flashed = state({ cp1: '2026-11-20T08:00:00.000Z', w1: '2026-11-21T08:00:00.000Z' })
    expect(reflashedSince(nodes, flashed, manifest)).toEqual([])
    expect(reflashedSince(nodes, flashed, { createdAt: 'yesterday' }).map((n) => n.id)).toEqual(['cp1', 'w1'])
  })

  test('kubectl argv: kube-system, one <hostname>.node-password.k3s per node, missing ones not an error', () => {
    expect(deleteNodePasswordArgv('cp2.lan')).toEqual([
      'k3s',
      'kubectl',
      '--namespace',
      'kube-system',
      'delete',
      'secret',
      '--ignore-not-found',
      'cp2.lan.node-password.k3s'
    ])
  })

  test('the script runs one delete per node, quotes every word and passes shellcheck', () => {
    const text = deleteNodePasswordsScript(["w2'; rm -rf /", 'cp2'])
    const del = `'k3s' 'kubectl' '--namespace' 'kube-system' 'delete' 'secret' '--ignore-not-found'`
    expect(text).toContain(
      `${del} 'w2'\\''; rm -rf /.node-password.k3s' >/dev/null\n${del} 'cp2.node-password.k3s' >/dev/null\n`
    )
    const r = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: text, encoding: 'utf8' })
    expect(r.stdout).toBe('')
  })
})
