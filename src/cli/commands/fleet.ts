// The CLI's fleet side: `turingpi-cluster list --config clusters/` prints the clusters as JSON (as the
// action's list output), and any other verb given a folder or glob as --config runs once per cluster
// file, then prints one table: file, cluster exit code, verdict. Deploy takes one file, as in the action.
import { parseArgs } from 'node:util'
import { listFleet } from '../../core/fleet/list.js'
import { clusterFiles } from '../../core/fleet/files.js'
import { renderText } from '../../report/tables.js'
import { processIo, runVerb, type Io, type VerbSpec } from './shared.js'

function configOf(argv: string[]): { config: string; cwd: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c', default: 'cluster.yaml' },
      'working-directory': { type: 'string', default: '.' }
    },
    strict: false
  })
  return { config: String(values.config), cwd: String(values['working-directory']) }
}

/** argv with --config replaced by `file`. */
function withConfig(argv: string[], file: string): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--config' || a === '-c') i++
    else if (!a.startsWith('--config=')) out.push(a)
  }
  return [...out, '--config', file]
}

export async function runList(argv: string[], io: Io = processIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.out(
      'turingpi-cluster list — Prints the clusters of a folder or glob as JSON for a workflow matrix.\n\nFlags: --config DIR|GLOB (clusters)  --working-directory DIR\n\nExample:\n  turingpi-cluster list --config clusters/'
    )
    return 0
  }
  const { config, cwd } = configOf(
    argv.includes('--config') || argv.includes('-c') || argv.some((a) => a.startsWith('--config='))
      ? argv
      : [...argv, '--config', 'clusters']
  )
  const { clusters, issues } = await listFleet(config, cwd)
  for (const i of issues)
    io.err(`${i.where ? `${i.where.file}:${i.where.line}:${i.where.column}: ` : `${i.file}: `}${i.path}: ${i.message}`)
  io.out(JSON.stringify(clusters))
  return issues.length || !clusters.length ? 1 : 0
}

const VERDICT: Record<string, Record<number, string>> = {
  drift: { 0: 'in sync', 1: 'could not check', 2: 'drift' },
  validate: { 0: 'valid', 1: 'invalid' },
  plan: { 0: 'planned', 1: 'failed' }
}

/** undefined when --config names one file (the verb runs as before), else the fleet's exit code. */
export async function runFleetVerb(spec: VerbSpec, argv: string[], io: Io = processIo): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) return undefined
  const { config, cwd } = configOf(argv)
  const files = await clusterFiles(config, cwd)
  if (files.length === 1 && files[0] === config) return undefined
  if (spec.name === 'deploy') {
    io.err(`error: --config ${config} names ${files.length} cluster files; deploy takes one`)
    return 1
  }
  const rows: string[][] = []
  let worst = 0
  for (const file of files) {
    io.err(`== ${file}`)
    const code = await runVerb(spec, withConfig(argv, file), io)
    rows.push([file, String(code), VERDICT[spec.name]?.[code] ?? String(code)])
    // drift: any cluster that could not be checked makes the fleet 1; else any drift makes it 2.
    worst = code === 1 || worst === 1 ? 1 : Math.max(worst, code)
  }
  io.err(
    renderText({
      title: `Fleet ${spec.name}: ${files.length} cluster file(s)`,
      header: ['File', 'Exit', 'Verdict'],
      rows
    })
  )
  return worst
}
