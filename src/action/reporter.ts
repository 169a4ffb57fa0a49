// The core's Reporter on top of @actions/core: groups, annotations on the cluster file, masks.
import * as core from '@actions/core'
import { relative, resolve } from 'node:path'
import type { Reporter, SourceRef } from '../core/reporter.js'

export class ActionsReporter implements Reporter {
  /** @param workingDirectory where the cluster file path is relative to; annotations need repo paths. */
  constructor(
    private readonly workingDirectory: string,
    private readonly workspace = process.env.GITHUB_WORKSPACE || process.cwd()
  ) {}

  private props(where?: SourceRef): core.AnnotationProperties | undefined {
    if (!where) return undefined
    return {
      file: relative(this.workspace, resolve(this.workingDirectory, where.file)),
      startLine: where.line,
      startColumn: where.column,
      ...(where.endLine ? { endLine: where.endLine } : {}),
      ...(where.endColumn && where.endLine === where.line ? { endColumn: where.endColumn } : {})
    }
  }
  info(message: string): void {
    core.info(message)
  }
  debug(message: string): void {
    core.debug(message)
  }
  warn(message: string, where?: SourceRef): void {
    core.warning(message, this.props(where))
  }
  error(message: string, where?: SourceRef): void {
    core.error(message, this.props(where))
  }
  group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    return core.group(title, fn)
  }
  secret(value: string): void {
    if (value.length >= 4) core.setSecret(value)
  }
}
