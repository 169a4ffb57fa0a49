#!/usr/bin/env node
// `turingpi-cluster <verb>`: the laptop front over the same core as the action.
import '../cjs-shim.js'
import { deploy } from './commands/deploy.js'
import { drift } from './commands/drift.js'
import { runFleetVerb, runList } from './commands/fleet.js'
import { plan } from './commands/plan.js'
import { processIo, runVerb, type VerbSpec } from './commands/shared.js'
import { validate } from './commands/validate.js'
import { backup, destroy, restore } from './commands/lifecycle.js'

const verbs: VerbSpec[] = [validate, plan, deploy, drift, backup, restore, destroy]

function usage(): string {
  const list = `  ${'list'.padEnd(9)} Prints the clusters of a folder or glob (--config clusters/) as JSON for a workflow matrix.`
  return [
    'usage: turingpi-cluster <verb> [flags]',
    '',
    ...verbs.map((v) => `  ${v.name.padEnd(9)} ${v.short}`),
    list,
    '',
    'turingpi-cluster <verb> --help for flags'
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === 'list') return runList(rest).catch((error: Error) => (processIo.err(`error: ${error.message}`), 1))
  const spec = verbs.find((v) => v.name === name)
  if (!spec) {
    processIo.err(usage())
    return name === undefined || name === '--help' || name === '-h' ? 0 : 1
  }
  try {
    // --config naming a folder or glob: once per cluster file, then one table (commands/fleet.ts).
    return (await runFleetVerb(spec, rest)) ?? (await runVerb(spec, rest))
  } catch (error) {
    processIo.err(`error: ${(error as Error).message}`)
    return 1
  }
}

process.exitCode = await main(process.argv.slice(2))
