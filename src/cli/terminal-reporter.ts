// Reporter for terminals: plain lines on stderr for progress, secrets replaced before printing.
import type { Reporter, SourceRef } from '../core/reporter.js'

export class TerminalReporter implements Reporter {
  private readonly secrets = new Set<string>()
  private depth = 0

  constructor(
    private readonly out: (line: string) => void = (line) => process.stderr.write(line + '\n'),
    private readonly verbose = false
  ) {}

  private print(line: string): void {
    let text = line
    for (const s of this.secrets) text = text.split(s).join('***')
    this.out('  '.repeat(this.depth) + text)
  }
  info(message: string): void {
    this.print(message)
  }
  debug(message: string): void {
    if (this.verbose) this.print(`debug: ${message}`)
  }
  warn(message: string, where?: SourceRef): void {
    this.print(`warning: ${where ? `${where.file}:${where.line}:${where.column}: ` : ''}${message}`)
  }
  error(message: string, where?: SourceRef): void {
    this.print(`error: ${where ? `${where.file}:${where.line}:${where.column}: ` : ''}${message}`)
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.print(`▸ ${title}`)
    this.depth++
    try {
      return await fn()
    } finally {
      this.depth--
    }
  }
  secret(value: string): void {
    if (value.length >= 4) this.secrets.add(value)
  }
}
