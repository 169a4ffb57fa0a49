// What "the Kubernetes API kept answering" means in the upgrade e2e and its bench: GET /readyz on the
// mapped API endpoint every `everyMs`, each on a connection of its own with a 1 s time-out, counting
// answers and failures until stopped. One probe loop for both, so the test and the bench count the same thing.
import { request } from 'node:https'

export interface ProbeTally {
  ok: number
  failed: number
  errors: string[]
  /** When each failed probe was sent (Date.now()), in the order of `errors`. */
  failedAt: number[]
  /**
   * The longest time without a probe in flight or due: between two sends, and from the last send to the
   * stop. A probe waits at most 5 s for its answer, so a longer gap means the prober itself stalled and
   * an outage could have hidden in it. How many probes fit in a run depends on the machine's load; this
   * does not.
   */
  maxGapMs: number
}

/** One GET /readyz; resolves to undefined when it answered 200, else what went wrong. */
function readyzOnce(to: { host: string; port: number }, token: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        path: '/readyz',
        headers: { authorization: `Bearer ${token}` },
        rejectUnauthorized: false,
        // A connection of its own per probe, as each kubectl invocation opens one: a kept-alive socket the
        // server closed while idle would fail the next probe on its own, which says nothing of the API.
        agent: false,
        // 5 s of silence, as a patient client waits: the lab's API shares the test's event loop, which a
        // loaded CI machine stalls for a second or more. An API that is down fails at once (refused or
        // reset), not by this time-out.
        timeout: 5000
      },
      (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`))
      }
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (e) => resolve(e.message))
    req.end()
  })
}

/**
 * GET /readyz every `everyMs` until stopped. With several addresses (a Talos cluster's control planes)
 * a probe is answered when any of them answers, tried in turn, as a client behind a VIP or a load
 * balancer over the API servers sees it; it fails only when none does.
 */
export function probeReadyz(
  to: { host: string; port: number } | { host: string; port: number }[],
  token: string,
  everyMs = 250
): { stop(): Promise<ProbeTally> } {
  const targets = Array.isArray(to) ? to : [to]
  const tally: ProbeTally = { ok: 0, failed: 0, errors: [], failedAt: [], maxGapMs: 0 }
  let lastSent = Date.now()
  const once = async (): Promise<void> => {
    const sent = Date.now()
    tally.maxGapMs = Math.max(tally.maxGapMs, sent - lastSent)
    lastSent = sent
    const seen: string[] = []
    for (const t of targets) {
      const error = await readyzOnce(t, token)
      if (!error) {
        tally.ok++
        return
      }
      seen.push(`${t.host}: ${error}`)
    }
    tally.failed++
    tally.errors.push(seen.join('; '))
    tally.failedAt.push(sent)
  }
  let running = true
  const loop = (async () => {
    while (running) await Promise.all([once(), new Promise((r) => setTimeout(r, everyMs))])
  })()
  return {
    stop: async () => {
      running = false
      tally.maxGapMs = Math.max(tally.maxGapMs, Date.now() - lastSent)
      await loop
      return tally
    }
  }
}
