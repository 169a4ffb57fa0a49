// A small Talos lab for the phase tests: simulated nodes on one board (a stand-in BMC: power events, UART
// text, disk files) booting the synthetic Talos image into lab/talos's personality, the address map the
// talosctl stand-in reads, and a mirror with the Image Factory and the talosctl release assets. Boards are
// numbered per test file so files running in parallel never share 127.10.b.s:50000.
import { EventEmitter } from 'node:events'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LabAddressMap } from '../../../../lab/address-map.js'
import { buildTalosImage } from '../../../../lab/images/index.js'
import { registerPersonality } from '../../../../lab/node/personality.js'
import { SimNode } from '../../../../lab/node/sim-node.js'
import { registerTalosLab, type TalosLab } from '../../../../lab/talos/index.js'
import { factoryImageCatalog, talosctlCatalog } from '../../../../lab/seed.js'
import { FileCacheDownloads } from '../../../../src/adapters/downloads/file-cache.js'
import type { DigestCatalog } from '../../../../src/adapters/downloads/types.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import type { Cluster } from '../../../../src/core/config/model.js'
import type { Deps } from '../../../../src/core/deps.js'
import type { PhaseContext } from '../../../../src/core/phases/types.js'
import type { MemoryReporter } from '../../../../src/core/reporter.js'
import { testPhaseContext, testSettings } from '../../context.js'
import { buildSchematic, marshalSchematic, schematicId } from '../../../../src/core/kinds/talos/schematic.js'
import { talosCluster } from './fixtures.js'
import { startTestMirror, type TestMirror } from '../../../lab/talos/test-mirror.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'

export interface TalosTestLab {
  dir: string
  mirror: TestMirror
  talos: TalosLab
  net: LabAddressMap
  nodes: SimNode[]
  uart: string[]
  deps: Deps
  /**
   * A run's context. Like a user who stored the first deploy's bundle as the talos-secrets secret, a
   * later context passes the bundle an earlier one generated, unless `talosSecrets` says otherwise
   * ('' = no input).
   */
  context(
    cluster: Cluster,
    options?: { stateDir?: string; talosSecrets?: string }
  ): Promise<PhaseContext & { reporter: MemoryReporter }>
  powerOn(slots?: number[]): Promise<void>
  reflash(slot: number): Promise<void>
  stop(): Promise<void>
}

export async function startTalosTestLab(o: { board: number; ips: string[]; version?: string }): Promise<TalosTestLab> {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-talos-lab-'))
  const net = new LabAddressMap(join(dir, 'address-map.json'))
  const mirror = await startTestMirror()
  const talos = registerTalosLab({ mirror, dir, register: registerPersonality })
  const uart: string[] = ['', '', '', '', '']
  const events = new EventEmitter()
  const bmc = {
    events,
    uart: (slot: number) => ({
      write: (t: string) => {
        uart[slot] += t
      }
    }),
    diskPath: (slot: number) => join(dir, `disk${slot}.img`)
  }
  // The disks hold the factory image of the fixture's schematic, as if the flash phase had written them.
  const image = await buildTalosImage({
    dir,
    version: o.version ?? 'v1.9.0',
    schematicId: schematicId(marshalSchematic(buildSchematic(talosCluster()).schematic))
  })
  const nodes = o.ips.map(
    (ip, i) =>
      new SimNode({
        bmc,
        board: o.board,
        slot: i + 1,
        stateDir: join(dir, `node${i + 1}`),
        bootDelayMs: 30,
        dhcpIp: ip,
        onAddress: (n, lan) =>
          (lan ?? (n.state === 'off' ? undefined : ip))
            ? net.setNode(lan ?? ip, n.board, n.slot)
            : net.removeNode(n.board, n.slot)
      })
  )
  for (let s = 1; s <= o.ips.length; s++) await copyFile(image.path, bmc.diskPath(s))
  const catalog: DigestCatalog = { ...talosctlCatalog(o.version ?? 'v1.9.0') }
  const labExec = createLocalExec({ ...process.env, TPI_LAB_DIR: dir, TALOSCTL_LAB_HEALTH_POLL_MS: '40' })
  const deps: Deps = {
    bmc: () => Promise.reject(new Error('no BMC in the Talos phase tests')),
    ssh: { connect: () => Promise.reject(new Error('no SSH on Talos')), probe: async () => undefined },
    net,
    // The lab's catalog: digests of the lab-built talosctl and factory images (filled per cluster below).
    downloads: new FileCacheDownloads({ root: join(dir, 'tool-cache'), catalog }),
    exec: labExec,
    ...plainAdapters(labExec),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 40)))
  }
  const lab: TalosTestLab = {
    dir,
    mirror,
    talos,
    net,
    nodes,
    uart,
    deps,
    async context(cluster, c = {}) {
      if (cluster.kind === 'talos') {
        Object.assign(catalog, talosctlCatalog(cluster.talos_version))
        if (cluster.image_source === 'factory')
          Object.assign(catalog, await factoryImageCatalog(talos.factory, cluster))
      }
      const stateDir = c.stateDir ?? join(dir, 'state')
      const generated = await readFile(join(dir, 'tmp', `talos-${cluster.name}`, 'secrets.yaml'), 'utf8').catch(
        () => undefined
      )
      const talosSecrets = c.talosSecrets ?? generated
      const settings = testSettings(dir, {
        stateDir,
        mirror: mirror.url,
        secrets: { artifactRecipients: [], ...(talosSecrets ? { talosSecrets } : {}) }
      })
      return testPhaseContext(cluster, deps, settings)
    },
    async powerOn(slots = o.ips.map((_, i) => i + 1)) {
      for (const s of slots) events.emit('power', s, true)
      await Promise.all(slots.map((s) => nodes[s - 1]?.waitFor('up', 10_000)))
    },
    async reflash(slot) {
      await nodes[slot - 1]?.reflashed()
      await copyFile(image.path, bmc.diskPath(slot))
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.close()))
      await mirror.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  return lab
}
