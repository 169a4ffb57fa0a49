// Read-only drift of Talos nodes: each node should be configured, and its running machine config should
// equal what the cluster file renders (compared by talosctl apply-config --dry-run, never printed: the
// diff can hold secrets). Needs the secrets bundle (input or state-dir) to render the wanted configs.
import type { DriftFinding } from '../../drift/types.js'
import type { PhaseContext } from '../types.js'
import { parseDryRun } from './answers.js'
import { applyArgv } from './argv.js'
import { prepare } from './prepare.js'

/** talosctl's own reason (its last stderr line, e.g. an rpc error), never the diff on stdout: that can hold secrets. */
function failure(stderr: string): string {
  const last = stderr.trim().split('\n').pop()?.trim()
  return last ? `: ${last.slice(0, 200)}` : ''
}

export async function talosDrift(ctx: PhaseContext): Promise<DriftFinding[]> {
  const p = await prepare(ctx, { readOnly: true })
  const rows = await Promise.all(p.observed.map(async (seen): Promise<DriftFinding[]> => {
    const row = (field: string, wanted: string, found: string, kind: DriftFinding['kind'] = 'drift'): DriftFinding => ({ subject: seen.node.id, field, wanted, found, kind, fixedBy: kind === 'drift' ? ['install'] : [], path: seen.node.path })
    if (seen.mode === 'unreachable') return [row('talos.api', 'answering on 50000', seen.detail || 'no answer', 'unreachable')]
    if (seen.mode === 'maintenance') return [row('talos.mode', 'configured', 'maintenance (no machine config)')]
    const config = p.configs.get(seen.node.id)
    if (!config) return [row('talos.machineconfig', 'compared with the cluster file', 'no talos-secrets input or kept bundle to render it', 'unreachable')]
    const r = await p.talosctl.run(applyArgv({ ip: seen.node.ip, file: config.path, mode: 'auto', dryRun: true, talosconfig: p.talosconfig }))
    if (r.code !== 0) return [row('talos.machineconfig', 'compared with the cluster file', `dry run failed (exit ${r.code}${failure(r.stderr)})`, 'unreachable')]
    const d = parseDryRun(`${r.stdout}\n${r.stderr}`)
    if (!d.changed) return []
    const lines = d.diff.split('\n').filter((l) => /^[-+](?![-+]{2} )/.test(l)).length
    return [row('talos.machineconfig', 'as rendered from the cluster file', `differs (${lines} changed line(s); ${d.reboot ? 'applying needs a reboot' : 'applies live'})`)]
  }))
  return rows.flat()
}
