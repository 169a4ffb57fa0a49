// Bounded retries with injectable delays. Used for idempotent calls only (BMC GETs, downloads); an
// upload is never retried blindly because the BMC has one transfer slot and a re-POST is an error.

export interface RetryOptions {
  /** Delays before each retry; its length is the number of retries. */
  delays: number[]
  sleep: (ms: number) => Promise<void>
  /** True when the failure is worth another attempt. */
  retryable: (error: unknown) => boolean
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
}

/** Exponential backoff delays: base, 2×base, … capped at max. */
export function backoff(retries: number, baseMs: number, maxMs = 30_000): number[] {
  return Array.from({ length: retries }, (_, i) => Math.min(maxMs, baseMs * 2 ** i))
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      const delay = options.delays[attempt]
      if (delay === undefined || !options.retryable(error)) throw error
      options.onRetry?.(error, attempt + 1, delay)
      await options.sleep(delay)
    }
  }
}
