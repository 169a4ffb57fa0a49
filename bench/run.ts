// `npm run bench`: runs every bench/*.bench.ts (or those named on the command line) against the lab and
// writes one JSON file per result into bench/results/. Each result carries its baseline measured in the
// same run, because the machines here are noisy and only same-run ratios mean something.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'

import type { BenchResult } from './lib/result.js'

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform}-${process.arch}`
}

const dir = new URL('.', import.meta.url).pathname
const only = process.argv.slice(2)
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !only.length || only.some((o) => f.startsWith(o)))
  .sort()
mkdirSync(join(dir, 'results'), { recursive: true })

let failed = 0
for (const file of files) {
  const label = basename(file, '.bench.ts')
  process.stderr.write(`bench ${label} …\n`)
  try {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as { bench: () => Promise<BenchResult[]> }
    for (const result of await mod.bench()) {
      const out = { ...result, machine, at: new Date().toISOString() }
      writeFileSync(join(dir, 'results', `${result.name}.json`), JSON.stringify(out, null, 2) + '\n')
      const ratio = result.ratio !== undefined ? ` (ratio ${result.ratio.toFixed(3)} vs ${result.baseline?.name})` : ''
      process.stdout.write(
        `${result.name}: ${result.figure} ${result.unit}${ratio}${result.target ? ` target ${result.target}` : ''}\n`
      )
    }
  } catch (error) {
    failed++
    process.stderr.write(`bench ${label} failed: ${(error as Error).stack}\n`)
  }
}
process.exitCode = failed ? 1 : 0
