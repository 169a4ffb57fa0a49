// What the Talos wing keeps in state-dir between runs: a sealed talosconfig/kubeconfig and keyed digests of
// rendered configs. Someone who shares the runner reads and writes state-dir but lacks the secrets bundle:
// they can neither read a sealed credential nor plant one or a digest the action would take.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PhaseContext } from '../../../../src/core/phases/types.js'
import { entryFor, holdsRemembered } from '../../../../src/core/kinds/talos/rendered.js'
import { seal, unseal } from '../../../../src/core/kinds/talos/sealed.js'

const bundle = Buffer.from('cluster:\n  id: one\nsecrets:\n  bootstraptoken: abc.def\n')
const other = Buffer.from('cluster:\n  id: two\nsecrets:\n  bootstraptoken: xyz.uvw\n')
const WEEK = 7 * 24 * 3600 * 1000
let dir: string
let ctx: PhaseContext

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-sealed-'))
  ctx = { state: { dir } } as unknown as PhaseContext
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('a sealed credential in state-dir', () => {
  test('opens with the same bundle and inputs, and its text is nowhere in the file', async () => {
    await seal(ctx, 'talosconfig', bundle, 'inputs-1', 'context: lab\ncontexts: {}\n')
    expect(await unseal(ctx, 'talosconfig', bundle, 'inputs-1', WEEK)).toBe('context: lab\ncontexts: {}\n')
    expect(await readFile(join(dir, 'talos-talosconfig.sealed'), 'utf8')).not.toContain('context')
  })

  test('does not open with another bundle, other inputs, or past its lifetime', async () => {
    await seal(ctx, 'talosconfig', bundle, 'inputs-1', 'secret text')
    expect(await unseal(ctx, 'talosconfig', other, 'inputs-1', WEEK)).toBeUndefined()
    expect(await unseal(ctx, 'talosconfig', bundle, 'inputs-2', WEEK)).toBeUndefined()
    expect(await unseal(ctx, 'talosconfig', bundle, 'inputs-1', 0)).toBeUndefined()
  })

  test('a file planted or altered without the bundle is ignored', async () => {
    // Sealed under another bundle, then relabelled with the right inputs digest: the tag does not verify.
    await seal(ctx, 'kubeconfig', bundle, 'inputs-1', 'real')
    const good = JSON.parse(await readFile(join(dir, 'talos-kubeconfig.sealed'), 'utf8')) as { inputs: string }
    await seal(ctx, 'kubeconfig', other, 'inputs-1', 'planted')
    const planted = JSON.parse(await readFile(join(dir, 'talos-kubeconfig.sealed'), 'utf8')) as { inputs: string }
    await writeFile(join(dir, 'talos-kubeconfig.sealed'), JSON.stringify({ ...planted, inputs: good.inputs }))
    expect(await unseal(ctx, 'kubeconfig', bundle, 'inputs-1', WEEK)).toBeUndefined()
    // An older timestamp written in: the tag covers it.
    await seal(ctx, 'kubeconfig', bundle, 'inputs-1', 'real')
    const f = JSON.parse(await readFile(join(dir, 'talos-kubeconfig.sealed'), 'utf8')) as { at: number }
    await writeFile(join(dir, 'talos-kubeconfig.sealed'), JSON.stringify({ ...f, at: f.at - 1 }))
    expect(await unseal(ctx, 'kubeconfig', bundle, 'inputs-1', WEEK)).toBeUndefined()
  })
})

describe('the remembered rendering of a node', () => {
  const docs = [{ version: 'v1alpha1', machine: { type: 'worker' } }]
  const entry = entryFor(bundle, 'inputs-1', docs)

  test('a node holding that config, for the same inputs, is unchanged without rendering', () => {
    expect(holdsRemembered(bundle, 'inputs-1', entry, { docs, complete: false })).toBe(true)
    expect(holdsRemembered(bundle, 'inputs-1', entry, { docs, complete: true })).toBe(true)
  })

  test('other inputs, another config on the node, or a digest made without the bundle: rendered again', () => {
    expect(holdsRemembered(bundle, 'inputs-2', entry, { docs, complete: true })).toBe(false)
    const edited = [{ version: 'v1alpha1', machine: { type: 'worker', nodeLabels: { a: 'b' } } }]
    expect(holdsRemembered(bundle, 'inputs-1', entry, { docs: edited, complete: true })).toBe(false)
    expect(
      holdsRemembered(bundle, 'inputs-1', entryFor(other, 'inputs-1', edited), { docs: edited, complete: true })
    ).toBe(false)
    expect(holdsRemembered(bundle, 'inputs-1', undefined, { docs, complete: true })).toBe(false)
    expect(holdsRemembered(bundle, 'inputs-1', entry, undefined)).toBe(false)
  })

  test('a multi-document config seen through its first document only is not taken as unchanged', () => {
    const two = [...docs, { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'w1' }]
    expect(holdsRemembered(bundle, 'inputs-1', entryFor(bundle, 'inputs-1', two), { docs, complete: false })).toBe(
      false
    )
  })
})
