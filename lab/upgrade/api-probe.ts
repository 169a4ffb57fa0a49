// What "the Kubernetes API kept answering" means in the upgrade e2e and its bench: GET /readyz on the
// mapped API endpoint every `everyMs`, each with a 1 s time-out, counting answers and failures until
// stopped. One probe loop for both, so the test and the bench count the same thing.
import { request } from 'node:https'

export interface ProbeTally {
  ok: number
  failed: number
  errors: string[]
}

export function probeReadyz(
  to: { host: string; port: number },
  token: string,
  everyMs = 250
): { stop(): Promise<ProbeTally> } {
  const tally: ProbeTally = { ok: 0, failed: 0, errors: [] }
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        {
          host: to.host,
          port: to.port,
          path: '/readyz',
          headers: { authorization: `Bearer ${token}` },
          rejectUnauthorized: false,
          timeout: 1000
        },
        (res) => {
          res.resume()
          res.on('end', () => {
            if (res.statusCode === 200) tally.ok++
            else {
              tally.failed++
              tally.errors.push(`HTTP ${res.statusCode}`)
            }
            resolve()
          })
        }
      )
      req.on('timeout', () => req.destroy(new Error('timeout')))
      req.on('error', (e) => {
        tally.failed++
        tally.errors.push(e.message)
        resolve()
      })
      req.end()
    })
  let running = true
  const loop = (async () => {
    while (running) await Promise.all([once(), new Promise((r) => setTimeout(r, everyMs))])
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return tally
    }
  }
}
