import { afterEach, describe, expect, it } from '@jest/globals'
import { X509Certificate } from 'node:crypto'
import { request } from 'node:http'
import { connect } from 'node:tls'
import { startBmc, type BmcEmulator, type BmcEmulatorOptions } from '../../../lab/bmc/index.js'
import { api, basic, call, login } from './helpers.js'

let bmc: BmcEmulator | undefined
async function board(o: BmcEmulatorOptions = {}): Promise<BmcEmulator> {
  bmc = await startBmc(o)
  return bmc
}
afterEach(async () => {
  await bmc?.stop()
  bmc = undefined
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('checklist 1: HTTPS with a throwaway self-signed certificate, optional port 80', () => {
  it('serves HTTPS on 127.20.0.1 with CN "Turing-Pi self signed" and reports its sha256 fingerprint', async () => {
    const b = await board()
    expect(b.url).toMatch(/^https:\/\/127\.20\.0\.1:\d+$/)
    const cert = new X509Certificate(b.certPem)
    expect(cert.subject).toBe('CN=Turing-Pi self signed')
    expect(b.fingerprint).toMatch(/^[0-9a-f]{64}$/)
    const seen = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: b.host, port: b.port, rejectUnauthorized: false }, () => {
        resolve(s.getPeerCertificate().fingerprint256)
        s.end()
      }).on('error', reject)
    })
    expect(seen.replace(/:/g, '').toLowerCase()).toBe(b.fingerprint)
  })

  it('port-80 listener: 308 to https for API paths, /info without auth', async () => {
    const b = await board({ httpPort: 0 })
    const get = (path: string): Promise<{ status: number; location?: string; body: string }> =>
      new Promise((resolve, reject) => {
        request(`${b.httpUrl}${path}`, { agent: false }, (res) => {
          let body = ''
          res.on('data', (c: Buffer) => {
            body += c.toString()
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }))
        })
          .on('error', reject)
          .end()
      })
    const redirect = await get('/api/bmc?opt=get&type=power')
    expect(redirect.status).toBe(308)
    // bmcd appends :443 to the Host header as sent (§8.17): node's client sends host:port.
    expect(redirect.location).toBe(`https://${new URL(b.httpUrl!).host}:443/api/bmc?opt=get&type=power`)
    const info = await get('/info')
    expect(info.status).toBe(200)
    expect(JSON.parse(info.body).response[0].result[0]).toMatchObject({ api: '1.1' })
  })
})

describe('checklist 2: login', () => {
  it('answers 200 with the session JSON and the same id in X-Auth-Token, no trailing newline', async () => {
    const b = await board()
    const r = await call(b, '/api/bmc/authenticate', {
      method: 'POST',
      auth: null,
      body: '{"username":"root","password":"turing"}'
    })
    expect(r.status).toBe(200)
    const s = JSON.parse(r.body) as Record<string, string>
    expect(s).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9]{64}$/),
      name: 'User Session',
      description: 'User Session',
      username: 'root'
    })
    expect(r.headers['x-auth-token']).toBe(s.id)
    expect(r.body.endsWith('}')).toBe(true)
  })

  it('accepts any method on /api/bmc/authenticate', async () => {
    const b = await board()
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await call(b, '/api/bmc/authenticate', {
        method,
        auth: null,
        body: '{"username":"root","password":"turing"}'
      })
      expect(r.status).toBe(200)
    }
  })

  it('refuses a bad password with 403 text "credentials incorrect" and bad JSON with 403 "error trying to parse credentials"', async () => {
    const b = await board()
    const wrong = await call(b, '/api/bmc/authenticate', {
      method: 'POST',
      auth: null,
      body: '{"username":"root","password":"nope"}'
    })
    expect([wrong.status, wrong.body]).toEqual([403, 'credentials incorrect'])
    expect(wrong.headers['content-type']).toMatch(/^text\/plain/)
    const junk = await call(b, '/api/bmc/authenticate', { method: 'POST', auth: null, body: '{not json' })
    expect(junk.status).toBe(403)
    expect(junk.body).toMatch(/^error trying to parse credentials: /)
  })
})

describe('checklist 3: Bearer or Basic on every other request, 401 challenges', () => {
  it('accepts a Bearer token and Basic credentials', async () => {
    const b = await board()
    const token = await login(b)
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).status).toBe(200)
    expect((await api(b, 'opt=get&type=power', { auth: basic() })).status).toBe(200)
  })

  it.each([
    ['no header', null, 'Basic realm="Access to Baseboard Management Controller"', 'no authorization header provided'],
    [
      'unknown token',
      'Bearer abc',
      'Bearer realm="Access to Baseboard Management Controller" error="invalid_token"',
      'token abc is not registered'
    ],
    [
      'other scheme',
      'Digest x=1',
      'realm="Access to Baseboard Management Controller"',
      'Digest authentication not supported'
    ],
    [
      'wrong Basic credentials',
      basic('root', 'bad'),
      'Basic realm="Access to Baseboard Management Controller"',
      'credentials incorrect'
    ]
  ])('%s → 401 with the matching WWW-Authenticate and text body', async (_case, auth, challenge, body) => {
    const b = await board()
    const r = await api(b, 'opt=get&type=power', { auth })
    expect(r.status).toBe(401)
    expect(r.headers['www-authenticate']).toContain(challenge)
    expect(r.body).toBe(body)
  })
})

describe('checklist 4: token lifetime renews on use and is configurable', () => {
  it('keeps a token alive while it is used, and answers 401 "token expired … ago" after an idle TTL', async () => {
    const b = await board({ tokenTtlMs: 300 })
    const token = await login(b)
    for (let i = 0; i < 4; i++) {
      await sleep(150)
      expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).status).toBe(200)
    }
    await sleep(450)
    const expired = await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })
    expect(expired.status).toBe(401)
    expect(expired.body).toMatch(/^token expired [\d.]+s ago$/)
    expect(expired.headers['www-authenticate']).toMatch(/^Bearer /)
    // Deleted when presented: the next use is an unknown token.
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).body).toBe(
      `token ${token} is not registered`
    )
  })

  it('lets a client recover by logging in again after the 401', async () => {
    const b = await board({ tokenTtlMs: 50 })
    const first = await login(b)
    await sleep(100)
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${first}` })).status).toBe(401)
    const second = await login(b)
    expect(second).not.toBe(first)
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${second}` })).status).toBe(200)
  })
})

describe('checklist 5: reload, reboot and a restart wipe all tokens', () => {
  it.each(['reload', 'reboot'])('opt=set&type=%s answers ok, then the old token is unknown', async (type) => {
    const b = await board()
    const token = await login(b)
    const r = await api(b, `opt=set&type=${type}`, { auth: `Bearer ${token}` })
    expect([r.status, r.body]).toEqual([200, '{"response":[{"result":"ok"}]}'])
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).status).toBe(401)
  })

  it('reload() (a simulated bmcd restart) wipes tokens but Basic still works', async () => {
    const b = await board()
    const token = await login(b)
    b.reload()
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).status).toBe(401)
    expect((await api(b, 'opt=get&type=power')).status).toBe(200)
  })
})

describe('checklist 6: bans per IP after repeated failures', () => {
  it('bans after the threshold, refuses correct credentials while banned, then doubles the ban', async () => {
    const b = await board({ banThreshold: 3, banBaseMs: 200 })
    const bad = { method: 'POST', auth: null, body: '{"username":"root","password":"x"}' }
    for (let i = 0; i < 2; i++) expect((await call(b, '/api/bmc/authenticate', bad)).body).toBe('credentials incorrect')
    // An unknown token counts as a failure too: the third failure bans, and its own reply is already the ban (§8.13).
    const third = await api(b, 'opt=get&type=power', { auth: 'Bearer nope' })
    expect([third.status, third.body]).toEqual([
      403,
      expect.stringMatching(/^Exceeded allowed authentication attempts/)
    ])
    const banned = await call(b, '/api/bmc/authenticate', { ...bad, body: '{"username":"root","password":"turing"}' })
    expect(banned.status).toBe(403)
    expect(banned.body).toMatch(/^Exceeded allowed authentication attempts\. Access blocked for [\d.]+s$/)
    expect((await api(b, 'opt=get&type=power')).status).toBe(403) // Basic refused as well
    await sleep(250)
    // The ban ran out; one more failure bans again for twice as long.
    await call(b, '/api/bmc/authenticate', bad)
    const again = await call(b, '/api/bmc/authenticate', bad)
    const left = Number(/for ([\d.]+)s/.exec(again.body)?.[1])
    expect(left).toBeGreaterThan(0.2)
    expect(left).toBeLessThanOrEqual(0.4)
  })

  it('resets the failure count after one success', async () => {
    const b = await board({ banThreshold: 3, banBaseMs: 60_000 })
    for (let round = 0; round < 3; round++) {
      await api(b, 'opt=get&type=power', { auth: basic('root', 'bad') })
      await api(b, 'opt=get&type=power', { auth: basic('root', 'bad') })
      expect((await api(b, 'opt=get&type=power')).status).toBe(200)
    }
  })
})

describe('checklist 7: no loopback exemption by default', () => {
  it('requires auth from loopback unless loopbackExempt is set', async () => {
    const strict = await board({ host: '127.0.0.1' })
    expect((await api(strict, 'opt=get&type=power', { auth: null })).status).toBe(401)
    await strict.stop()
    const lax = await board({ host: '127.0.0.1', loopbackExempt: true })
    expect((await api(lax, 'opt=get&type=power', { auth: null })).status).toBe(200)
  })
})
