// Every observation is bounded: a BMC that accepts the connection and never answers must turn into an
// 'unreachable' row, not a drift run that hangs until the job's six-hour limit.
export class ObservationTimeout extends Error {
  constructor(what: string, ms: number) {
    super(`no answer from ${what} within ${ms / 1000} s`)
    this.name = 'ObservationTimeout'
  }
}

export async function bounded<T>(what: string, ms: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ObservationTimeout(what, ms)), ms)
  })
  try {
    return await Promise.race([work(), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A thrown value as one line for a finding's `found` column (messages never carry secrets). */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error)
  return text.split('\n')[0].trim() || 'unknown error'
}
