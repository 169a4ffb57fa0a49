// `npm run demo -- --fleet`: a fleet as the fleet templates run it, on a lab of two boards. A folder
// clusters/ with two cluster files (alpha on board 0, beta on board 1); `list` gives the matrix; one
// deploy job per cluster as one runner takes matrix jobs (each in its board's concurrency group,
// repeated to the action as TURINGPI_CONCURRENCY_GROUP); then one drift leg per cluster and one
// fleet-wide drift whose summary is a single table.
import { mkdtemp } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun } from './action.js'
import { setupLabFleet } from './fleet.js'
import { startLab } from './lab.js'

interface Entry {
  name: string
  config: string
  boards: string[]
  group: string
}

const quiet = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter(
      (l) =>
        l &&
        !l.startsWith('::debug') &&
        !l.startsWith('::add-mask') &&
        !l.startsWith('::group') &&
        !l.startsWith('::endgroup')
    )
    .slice(-6)
    .join('\n  ')

const table = (summary: string): string =>
  (summary.split('</table>')[0] ?? '')
    .replace(/<\/(tr|h2)>/g, '\n')
    .replace(/<\/t[dh]>/g, ' | ')
    .replace(/<[^>]+>/g, '')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')
    .trim()

export async function demoFleet(): Promise<number> {
  const t0 = performance.now()
  const lab = await startLab({ boards: 2, bootDelayMs: 400 })
  let code = 1
  try {
    const root = await mkdtemp(join(lab.dir, 'repo-'))
    const members = await setupLabFleet(lab, root, [
      { name: 'alpha', board: 0 },
      { name: 'beta', board: 1 }
    ])
    const first = members[0]!.setup
    console.log(
      `lab: 2 boards (BMCs ${lab.boards.map((b) => b.bmc.url).join(', ')}), a repository with ${members.map((m) => m.config).join(' and ')}\n`
    )

    console.log('$ list   (job "list": the matrix)')
    const list = await runLabAction(lab, first, { command: 'list', config: 'clusters' })
    if (list.code !== 0) throw new Error(`list failed:\n  ${quiet(list)}`)
    const entries = JSON.parse(list.outputs.clusters!) as Entry[]
    for (const e of entries)
      console.log(
        `  ${e.name.padEnd(6)} ${e.config.padEnd(20)} boards ${e.boards.join('+').padEnd(12)} concurrency group ${e.group}`
      )

    const leg = (e: Entry, inputs: Record<string, string>) =>
      runLabAction(lab, members.find((m) => m.name === e.name)!.setup, { config: e.config, ...inputs }, undefined, {
        env: { TURINGPI_CONCURRENCY_GROUP: e.group }
      })

    // One self-hosted runner takes the matrix jobs one after another (different boards and groups would let
    // two runners take them at once).
    console.log('\n$ deploy   (job "deploy", one per cluster, in its board\'s group; one runner: one after another)')
    const deploys: ActionRun[] = []
    for (const e of entries) deploys.push(await leg(e, { command: 'deploy' }))
    deploys.forEach((d, i) =>
      console.log(
        `  ${entries[i]!.name}: exit ${d.code} after ${(d.ms / 1000).toFixed(1)} s${d.code ? `\n  ${quiet(d)}` : ''}`
      )
    )
    if (deploys.some((d) => d.code !== 0)) throw new Error('a deploy failed')

    console.log('\n$ drift   (fleet drift template: one leg per cluster)')
    const legs = await Promise.all(entries.map((e) => leg(e, { command: 'drift' })))
    legs.forEach((d, i) =>
      console.log(`  ${entries[i]!.name}: exit ${d.code}, findings ${d.outputs.drift ?? '(none)'}`)
    )

    console.log('\n$ drift with config: clusters   (every cluster in one job, one summary table)')
    const wide = await runLabAction(lab, first, { command: 'drift', config: 'clusters' })
    console.log(
      table(wide.summary)
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n')
    )
    console.log(`  drifted: ${wide.outputs.drifted}`)
    code = legs.some((d) => d.code !== 0) ? 1 : wide.code
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`)
  } finally {
    await lab.stop()
  }
  console.log(
    `\n=== demo --fleet: two clusters on two boards deployed and drift-checked ${code === 0 ? 'successfully' : `FAILED (exit ${code})`}; ${((performance.now() - t0) / 1000).toFixed(1)} s including lab start and teardown`
  )
  return code
}
