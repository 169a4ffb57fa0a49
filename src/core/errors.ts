// Error classes with a stable code. Messages name the thing, the value and what was expected; they never
// contain a secret (the fronts print them as they are).
import type { SourceRef } from './reporter.js'

export class TpiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown }
  ) {
    super(message, options)
    this.name = new.target.name
  }
}

/** One problem in the cluster file. */
export interface ConfigIssue {
  /** Stable code, e.g. DuplicateSlot. */
  code: string
  /** YAML path, e.g. workers[2].node */
  path: string
  message: string
  where?: SourceRef
  severity: 'error' | 'warning'
}

/** The cluster file is wrong: carries every issue at once. */
export class ConfigError extends TpiError {
  constructor(readonly issues: ConfigIssue[]) {
    super('InvalidConfig', `${issues.filter((i) => i.severity === 'error').length} problem(s) in the cluster file`)
  }
}

/** A deploy step failed on a node: which node, which phase, what was seen, and how to resume. */
export class PhaseError extends TpiError {
  constructor(
    readonly phase: string,
    readonly node: string | undefined,
    readonly seen: string,
    readonly resume: string,
    options?: { cause?: unknown; code?: string }
  ) {
    super(
      options?.code ?? 'PhaseFailed',
      `${node ? `node ${node}: ` : ''}${phase} failed: ${seen}. To resume: ${resume}`,
      options
    )
  }
}
