// The Image Factory path: the lab factory computes the same schematic id as the action for the same
// schematic (in any YAML layout), the image is downloaded through the mirror into the tool cache, its hash
// recorded, and a cached image that changed since is refused by that record.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerTalosLab, type TalosLab } from '../../../../lab/talos/index.js'
import { factoryImageCatalog } from '../../../../lab/seed.js'
import { FileCacheDownloads } from '../../../../src/adapters/downloads/file-cache.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import type { Deps } from '../../../../src/core/deps.js'
import { localSchematic, postSchematic, resolveTalosImage } from '../../../../src/core/kinds/talos/factory.js'
import { marshalSchematic, schematicId } from '../../../../src/core/kinds/talos/schematic.js'
import { emptyOutputs, type PhaseContext } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { StateStore } from '../../../../src/core/state/store.js'
import { startTestMirror, type TestMirror } from '../../../lab/talos/test-mirror.js'
import { talosCluster } from './fixtures.js'
import { kindOf } from '../../../../src/core/kinds/index.js'
import { httpFetch } from '../../../../src/adapters/net/http.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import { testSettings } from '../../context.js'

let dir: string
let mirror: TestMirror
let talos: TalosLab

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-talos-factory-'))
  mirror = await startTestMirror()
  talos = registerTalosLab({ mirror, dir })
})
afterAll(async () => {
  await mirror.close()
  await rm(dir, { recursive: true, force: true })
})

async function context(extra = 'longhorn_enabled: true'): Promise<PhaseContext & { reporter: MemoryReporter }> {
  const cluster = talosCluster(extra)
  // The lab factory's bytes are vouched for by the lab's catalog (as TPI_LAB_CATALOG does for the action).
  const catalog = cluster.kind === 'talos' ? await factoryImageCatalog(talos.factory, cluster) : {}
  const deps: Deps = {
    bmc: () => Promise.reject(new Error('unused')),
    ssh: { connect: () => Promise.reject(new Error('unused')), probe: async () => undefined },
    net: { map: (host, port) => ({ host, port }) },
    downloads: new FileCacheDownloads({ root: join(dir, 'cache'), catalog }),
    ...plainAdapters(createLocalExec()),
    exec: createLocalExec(),
    sleep: async () => {}
  }
  return {
    cluster,
    kind: kindOf(cluster),
    deps,
    reporter: new MemoryReporter(),
    state: await StateStore.open(join(dir, 'state'), cluster.name),
    nodes: cluster.nodes,
    outputs: emptyOutputs(),
    settings: testSettings(dir, { configPath: 'c.yaml', mirror: mirror.url })
  }
}

describe('Image Factory', () => {
  test('the lab factory answers the same id as the local computation, whatever the YAML layout', async () => {
    const local = schematicId(
      marshalSchematic({
        overlay: { image: 'siderolabs/sbc-rockchip', name: 'turingrk1' },
        extensions: ['siderolabs/iscsi-tools']
      })
    )
    const body =
      '# hand written\ncustomization:\n  systemExtensions:\n    officialExtensions: [siderolabs/iscsi-tools]\noverlay: {name: turingrk1, image: siderolabs/sbc-rockchip}\n'
    expect(await postSchematic(`${mirror.url}/factory.talos.dev/schematics`, body, httpFetch)).toBe(local)
  })

  test('a refused schematic names the factory answer', async () => {
    await expect(
      postSchematic(
        `${mirror.url}/factory.talos.dev/schematics`,
        'customization: {systemExtensions: {officialExtensions: ["yes"]}}\n',
        httpFetch
      )
    ).rejects.toMatchObject({ code: 'FactoryRefused', message: expect.stringContaining('answered 400') })
  })

  test('image downloaded through the mirror, keyed by version and schematic, its hash recorded', async () => {
    const ctx = await context()
    const image = await resolveTalosImage(ctx)
    const id = localSchematic(ctx).id
    expect(ctx.outputs.schematicId).toBe(id)
    expect(image.path).toBe(join(dir, 'cache', 'talos-image', `1.9.0-s${id}`, 'arm64', 'metal-arm64.raw.xz'))
    expect(ctx.state.cluster().talosImages).toEqual({ [`v1.9.0/${id}`]: image.sha256 })
    expect(ctx.reporter.text()).toContain('Image Factory: added extension siderolabs/iscsi-tools (Longhorn needs it)')
    expect(talos.factory.hits.images).toBe(1)
  }, 20_000)

  test('a cached image corrupted since its download is discarded and downloaded again, never flashed', async () => {
    const ctx = await context()
    const { path, sha256 } = await resolveTalosImage(ctx)
    const bytes = await readFile(path)
    bytes[bytes.length - 1] ^= 0xff
    await writeFile(path, bytes)
    const hitsBefore = talos.factory.hits.images
    const again = await context()
    const image = await resolveTalosImage(again)
    expect(image.sha256).toBe(sha256)
    expect(await readFile(image.path)).not.toEqual(bytes)
    expect(talos.factory.hits.images).toBe(hitsBefore + 1)
  }, 20_000)
})
