// The shape of one bench figure and the machine it ran on (bench/run.ts adds the machine to each file).
import { cpus, totalmem } from 'node:os'

export interface BenchResult {
  name: string
  figure: number
  unit: string
  baseline?: { name: string; figure: number }
  ratio?: number
  target?: string
  notes?: string
  /** What the measured run made the outside world do, as the product's adapters counted it. */
  counts?: RunCounts
}

/** Counted by the product's adapters (SSH, local exec, downloads): machine-independent. */
export interface RunCounts {
  sshExecs: number
  runnerProcesses: number
  downloadBytes: number
}

/** The `adapter counts {...}` debug line the action prints after a run (src/action/main.ts). */
export interface LoggedCounts extends RunCounts {
  sshExecsPerNode: Record<string, number>
  runnerProcessesPerProgram: Record<string, number>
}

export function countsFromLog(log: string): LoggedCounts {
  const line = log.split('\n').find((l) => l.startsWith('::debug::adapter counts '))
  if (!line) throw new Error('the run printed no adapter counts (is dist/ built from this tree?)')
  return JSON.parse(line.slice('::debug::adapter counts '.length)) as LoggedCounts
}

export function machine(): { cpus: number; mem: number; node: string } {
  return { cpus: cpus().length, mem: Math.round(totalmem() / 2 ** 30), node: process.version }
}
