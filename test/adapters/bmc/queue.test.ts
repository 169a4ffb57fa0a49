// The client's one-request-at-a-time queue against the lab BMC, which serializes like bmcd (§8.1).
import { afterEach, describe, expect, test } from '@jest/globals'
import { startBmc, type BmcEmulator } from '../../../lab/bmc/index.js'
import { createBmcClient, type HttpBmcClient } from '../../../src/adapters/bmc/client.js'

let bmc: BmcEmulator | undefined
let client: HttpBmcClient | undefined
afterEach(async () => {
  client?.close()
  await bmc?.stop()
  bmc = client = undefined
})

describe('one request queue per BMC', () => {
  test("concurrent calls are sent one after another; a queued call's reply timeout starts when it is sent", async () => {
    bmc = await startBmc({ host: '127.20.94.1', resetDelayMs: 700 })
    client = await createBmcClient({
      endpoint: bmc.url,
      username: 'root',
      password: bmc.password,
      fingerprint: bmc.fingerprint,
      insecure: false,
      timeoutMs: 1000
    })
    const t0 = Date.now()
    const done: string[] = []
    // Each reset holds the BMC for 0.7 s; the power read waits 1.4 s in the queue, longer than its 1 s timeout.
    const calls = [
      client.reset(1).then(() => done.push('reset 1')),
      client.reset(2).then(() => done.push('reset 2')),
      client.power().then(() => done.push('power'))
    ]
    expect(client.busy()).toBe(true)
    await Promise.all(calls)
    expect(done).toEqual(['reset 1', 'reset 2', 'power'])
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400)
    expect(bmc.waitedRequests()).toBe(0) // the BMC never had a second request waiting
    expect(client.busy()).toBe(false)
  })

  test('a request that does not answer in time still times out once sent', async () => {
    bmc = await startBmc({ host: '127.20.94.1', resetDelayMs: 1500 })
    client = await createBmcClient({
      endpoint: bmc.url,
      username: 'root',
      password: bmc.password,
      fingerprint: bmc.fingerprint,
      insecure: false,
      timeoutMs: 500
    })
    await expect(client.reset(1)).rejects.toThrow(/no reply to GET \/api\/bmc\?opt=set&type=reset&node=0 within 500 ms/)
  })
})
