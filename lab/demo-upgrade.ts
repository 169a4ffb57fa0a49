// `npm run demo -- --upgrade [--kind talos]` (dispatched from lab/demo.ts): deploys the example through the
// shipped bundle, then changes its version the way a user edits the file, and lets `plan` show the path
// and `deploy` walk it:
//   k3s:   k3s_version to the next patch (v1.31.3+k3s1 → v1.31.4+k3s1);
//   talos: talos_version to the next minor's latest patch (through the latest patch of its own minor) and
//          kubernetes_version one minor up (Talos first, then talosctl upgrade-k8s).
// It ends with `drift` against the changed file, which must find nothing.
import { readFile, writeFile } from 'node:fs/promises'
import { runLabAction, setupLabAction, type ActionRun } from './action.js'
import type { Lab } from './lab.js'
import { TALOS_LATEST_PATCH, parseVersion } from '../src/core/upgrade/versions.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { kubernetesVersion } from './talos/lib/generate.mjs'

/** The file's next versions: K3s' next patch; Talos' next minor (latest patch) and one Kubernetes minor up. */
export function nextVersions(kind: 'k3s' | 'talos', current: string): Record<string, string> {
  const v = parseVersion(current)
  if (!v) throw new Error(`cannot read version "${current}"`)
  if (kind === 'k3s') return { k3s_version: `v${v.major}.${v.minor}.${v.patch + 1}${v.build ? `+${v.build}` : ''}` }
  const talos = TALOS_LATEST_PATCH[`${v.major}.${v.minor + 1}`]
  if (!talos) throw new Error(`the catalog has no Talos ${v.major}.${v.minor + 1}`)
  const k8s = parseVersion(kubernetesVersion(current) as string)!
  return { talos_version: talos, kubernetes_version: `v${k8s.major}.${k8s.minor + 1}.0` }
}

export async function upgradeDemo(lab: Lab, kind: 'k3s' | 'talos', show: (chunk: string) => void): Promise<number> {
  const file = `examples/${kind}-cluster.yaml`
  const setup = await setupLabAction(lab, file)
  const step = async (what: string, inputs: Record<string, string>): Promise<ActionRun> => {
    console.log(`\n$ INPUT_COMMAND=${inputs.command} node dist/main/index.js   # ${what}\n`)
    const r = await runLabAction(lab, setup, inputs, show)
    console.log(`${inputs.command}: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s`)
    if (r.code !== 0) throw new Error(`${inputs.command} failed (exit ${r.code})`)
    return r
  }
  await step(`deploy ${file}`, { command: 'deploy' })

  const c = setup.cluster
  const current = c.kind === 'k3s' ? c.k3s_version : c.talos_version
  const next = nextVersions(kind, current)
  const changed = await setupLabAction(lab, file, next)
  // A Talos minor goes through the latest patch of the running minor, whose talosctl the wave fetches too.
  const v = parseVersion(current)!
  const stone = c.kind === 'talos' ? TALOS_LATEST_PATCH[`${v.major}.${v.minor}`] : undefined
  const stones = stone && stone !== current ? [await setupLabAction(lab, file, { talos_version: stone })] : []
  // The runs' catalog also knows the new versions' downloads (the mirror serves them).
  let catalog = JSON.parse(await readFile(setup.catalogPath, 'utf8')) as Record<string, unknown>
  for (const other of [...stones, changed])
    catalog = { ...catalog, ...(JSON.parse(await readFile(other.catalogPath, 'utf8')) as Record<string, unknown>) }
  await writeFile(setup.catalogPath, JSON.stringify(catalog, null, 1))
  console.log(
    `\nthe file changes: ${Object.entries(next)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}`
  )
  const plan = await step('plan the upgrade', { command: 'plan', config: changed.configPath })
  const rows = (JSON.parse(plan.outputs.plan ?? '[]') as { phase: string; node?: string; reason: string }[]).filter(
    (r) => r.phase === 'upgrade'
  )
  console.log('\n--- the upgrade as plan shows it ---')
  for (const r of rows) console.log(`${r.node ?? '(cluster)'}: ${r.reason}`)
  await step('walk the upgrade', { command: 'deploy', config: changed.configPath })
  const drift = await step('drift against the changed file', { command: 'drift', config: changed.configPath })
  const findings = JSON.parse(drift.outputs.drift ?? '[]') as unknown[]
  console.log(`\ndrift after the upgrade: ${findings.length === 0 ? 'in sync' : JSON.stringify(findings, null, 1)}`)
  return findings.length === 0 ? 0 : 1
}
