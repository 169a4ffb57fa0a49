// Read-only drift of Talos nodes: each node should be configured, run the file's talos_version and (for
// factory images) the schematic of its image_factory settings, and its running machine config should equal
// what the cluster file renders (compared with the config the node holds; a difference is measured by
// talosctl apply-config --dry-run, never printed: the diff can hold secrets). Needs the secrets bundle (input or state-dir) to
// render the wanted configs and to talk to configured nodes at all.
import type { DriftFinding } from '../../drift/types.js'
import type { PhaseContext } from '../../phases/types.js'
import type { NodeSpec } from '../../config/model.js'
import { parseDryRun, sameConfig, schematicOf, serverTag } from './answers.js'
import { applyArgv, extensionsArgv, serverVersionArgv } from './argv.js'
import { ensureSchematic, talosCtx } from './factory.js'
import type { NodeConfig } from './configs.js'
import type { Observed } from './observe.js'
import { prepare, type Prepared } from './prepare.js'
import { installerImage } from './schematic.js'
import { versionPath } from '../../upgrade/path.js'

/** talosctl's own reason (its last stderr line, e.g. an rpc error), never the diff on stdout: that can hold secrets. */
function failure(stderr: string): string {
  const last = stderr.trim().split('\n').pop()?.trim()
  return last ? `: ${last.slice(0, 200)}` : ''
}

const bare = (v: string): string => v.replace(/^v/, '')

export async function talosDrift(ctx: PhaseContext): Promise<DriftFinding[]> {
  const p = await prepare(ctx, { readOnly: true })
  const c = talosCtx(ctx).cluster
  const wantedVersion = c.talos_version
  // Only a factory image has a schematic the file decides; the id is the one the configs were rendered with.
  const wantedSchematic =
    c.image_source === 'factory' && p.configs.size > 0 ? (await ensureSchematic(ctx)).id : undefined
  const rows = await Promise.all(
    p.observed.map(async (seen): Promise<DriftFinding[]> => {
      const row = (
        field: string,
        wanted: string,
        found: string,
        kind: DriftFinding['kind'] = 'drift'
      ): DriftFinding => ({
        subject: seen.node.id,
        field,
        wanted,
        found,
        kind,
        fixedBy: kind === 'drift' ? ['install'] : [],
        path: seen.node.path
      })
      if (seen.mode === 'unreachable')
        return [row('talos.api', 'answering on 50000', seen.detail || 'no answer', 'unreachable')]
      if (seen.mode === 'maintenance') return [row('talos.mode', 'configured', 'maintenance (no machine config)')]
      const config = p.configs.get(seen.node.id)
      if (!config)
        return [
          row(
            'talos.machineconfig',
            'compared with the cluster file',
            'no talos-secrets input to render it',
            'unreachable'
          )
        ]
      const [version, schematic, machineConfig] = await Promise.all([
        versionRow(p, seen.node, wantedVersion, c.allow_downgrade),
        wantedSchematic ? schematicRow(p, seen.node.ip, wantedSchematic, wantedVersion) : undefined,
        configRow(p, seen, config)
      ])
      // No deploy phase upgrades Talos in place: the rows say how, and point at talos_version / image_factory.
      return [
        ...(version
          ? [
              {
                ...row('talos.version', version.wanted, version.found, version.kind),
                fixedBy: [],
                path: ['talos_version']
              }
            ]
          : []),
        ...(schematic
          ? [
              {
                ...row('talos.schematic', schematic.wanted, schematic.found, schematic.kind),
                fixedBy: [],
                path: ['image_factory']
              }
            ]
          : []),
        ...(machineConfig
          ? [row('talos.machineconfig', machineConfig.wanted, machineConfig.found, machineConfig.kind)]
          : [])
      ]
    })
  )
  return rows.flat()
}

type Compared = Pick<DriftFinding, 'wanted' | 'found' | 'kind'> | undefined

async function versionRow(p: Prepared, node: NodeSpec, wanted: string, allowDowngrade: boolean): Promise<Compared> {
  // All nodes in one call (prepare.ts); a node it did not answer for is asked on its own, for the reason.
  let tag = (await p.versions())[node.id]
  if (!tag) {
    const r = await p.talosctl.run(serverVersionArgv(node.ip, p.talosconfig))
    tag = r.code === 0 ? serverTag(r.stdout) : undefined
    if (!tag) return { wanted, found: `version not readable (exit ${r.code}${failure(r.stderr)})`, kind: 'unreachable' }
  }
  if (bare(tag) === bare(wanted)) return undefined
  // The row names the upgrade it needs: the path plan shows, or why that path is refused.
  const path = versionPath('talos', tag, wanted, { allowDowngrade })
  const how = path.refusal
    ? `upgrade refused: ${path.refusal.instead}`
    : `upgrade ${[tag, ...path.hops.map((h) => h.to)].join(' → ')} in place with talosctl upgrade, one node at a time as plan lists, or redeploy with reflash: true`
  return { wanted, found: `${tag} (${how})`, kind: 'drift' }
}

async function schematicRow(p: Prepared, ip: string, wanted: string, version: string): Promise<Compared> {
  const r = await p.talosctl.run(extensionsArgv(ip, p.talosconfig))
  const found = r.code === 0 ? schematicOf(r.stdout) : undefined
  if (found === undefined)
    return { wanted, found: `extensions not readable (exit ${r.code}${failure(r.stderr)})`, kind: 'unreachable' }
  if (found === wanted) return undefined
  const how = `upgrade in place with talosctl upgrade --image ${installerImage(wanted, version)}, or redeploy with reflash: true`
  return { wanted, found: `${found ?? 'none (not an Image Factory image)'} (${how})`, kind: 'drift' }
}

async function configRow(p: Prepared, seen: Observed, config: NodeConfig): Promise<Compared> {
  // What the node holds decides an unchanged node; a difference is counted by the node's own dry run.
  if (config.unchanged) return undefined
  if (seen.applied && config.docs && sameConfig(seen.applied, config.docs) === true) return undefined
  const { ip } = seen.node
  const file = config.path
  const r = await p.talosctl.run(applyArgv({ ip, file, mode: 'auto', dryRun: true, talosconfig: p.talosconfig }))
  if (r.code !== 0)
    return {
      wanted: 'compared with the cluster file',
      found: `dry run failed (exit ${r.code}${failure(r.stderr)})`,
      kind: 'unreachable'
    }
  const d = parseDryRun(`${r.stdout}\n${r.stderr}`)
  if (!d.changed) return undefined
  const lines = d.diff.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length
  return {
    wanted: 'as rendered from the cluster file',
    found: `differs (${lines} changed line(s); ${d.reboot ? 'applying needs a reboot' : 'applies live'})`,
    kind: 'drift'
  }
}
