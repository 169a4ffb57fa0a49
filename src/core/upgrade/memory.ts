// The wave's memory in state-dir (whom this action cordoned, which nodes fell back to their old image),
// kept in the cluster's record so a later run, on any kind, resumes with it.
import type { PhaseContext } from '../phases/types.js'
import type { WaveMemory } from './wave.js'

export function waveMemoryOf(ctx: PhaseContext): WaveMemory {
  const c = ctx.state.cluster()
  const m = (c.upgrade ??= { cordoned: [], fallbacks: {} }) as WaveMemory
  m.cordoned ??= []
  m.fallbacks ??= {}
  return m
}
