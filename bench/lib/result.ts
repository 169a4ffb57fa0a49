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
}

export function machine(): { cpus: number; mem: number; node: string } {
  return { cpus: cpus().length, mem: Math.round(totalmem() / 2 ** 30), node: process.version }
}
