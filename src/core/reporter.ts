// How the core talks to a person. The action maps this onto @actions/core (groups, annotations, masks),
// the CLI onto the terminal, the lab and tests onto a recorder. The core never prints directly.

/** A place in the cluster file, for annotations and source excerpts. */
export interface SourceRef {
  file: string
  line: number
  column: number
  endLine?: number
  endColumn?: number
}

export interface Reporter {
  info(message: string): void
  debug(message: string): void
  warn(message: string, where?: SourceRef): void
  error(message: string, where?: SourceRef): void
  /** Runs fn inside a collapsible group (a phase, a node's flash). */
  group<T>(title: string, fn: () => Promise<T>): Promise<T>
  /** Registers a secret so no later output shows it. Call before the value could be printed. */
  secret(value: string): void
}

/** A reporter that keeps everything, for tests and the lab; also masks secrets like the runner does. */
export class MemoryReporter implements Reporter {
  readonly lines: string[] = []
  private readonly secrets = new Set<string>()

  private add(kind: string, message: string): void {
    let text = message
    for (const s of this.secrets) text = text.split(s).join('***')
    this.lines.push(`${kind}${text}`)
  }
  info(message: string): void {
    this.add('', message)
  }
  debug(message: string): void {
    this.add('debug: ', message)
  }
  warn(message: string, where?: SourceRef): void {
    this.add('warning: ', where ? `${where.file}:${where.line}:${where.column}: ${message}` : message)
  }
  error(message: string, where?: SourceRef): void {
    this.add('error: ', where ? `${where.file}:${where.line}:${where.column}: ${message}` : message)
  }
  async group<T>(title: string, fn: () => Promise<T>): Promise<T> {
    this.add('> ', title)
    try {
      return await fn()
    } finally {
      this.add('< ', title)
    }
  }
  secret(value: string): void {
    if (value.length >= 4) this.secrets.add(value)
  }
  text(): string {
    return this.lines.join('\n')
  }
}
