import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { startBmc, type BmcEmulator } from '../../../lab/bmc/index.js'
import { api, call, until } from './helpers.js'

let b: BmcEmulator
const powerEvents: [number, boolean][] = []
beforeAll(async () => {
  b = await startBmc({ resetDelayMs: 30 })
  b.events.on('power', (slot: number, on: boolean) => powerEvents.push([slot, on]))
})
afterAll(async () => {
  await b.stop()
})

const result = async (query: string): Promise<unknown> => {
  const r = await api(b, query)
  expect(r.status).toBe(200)
  return (JSON.parse(r.body) as { response: [{ result: unknown }] }).response[0].result
}

describe('checklist 8: exact envelopes', () => {
  it('wraps power as an array of string values, no trailing newline, application/json', async () => {
    const r = await api(b, 'opt=get&type=power')
    expect(r.body).toBe('{"response":[{"result":[{"node1":"0","node2":"0","node3":"0","node4":"0"}]}]}')
    expect(r.headers['content-type']).toBe('application/json')
  })

  it('gives about and info an object result, other an array', async () => {
    expect(await result('opt=get&type=about')).toEqual({
      board_model: expect.any(String),
      board_revision: expect.any(String),
      hostname: expect.any(String),
      api: '1.1',
      version: expect.any(String),
      bmcd_version: expect.any(String),
      buildtime: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d-00:00$/),
      buildroot: 'Buildroot 2024.05.1'
    })
    const info = (await result('opt=get&type=info')) as { ip: unknown[]; storage: { name: string }[] }
    expect(Array.isArray(info)).toBe(false)
    expect(info.ip.length).toBeGreaterThan(0)
    expect(info.storage.map((s) => s.name)).toEqual(['BMC', 'SD card'])
    const other = (await result('opt=get&type=other')) as { buildroot: string }[]
    expect(other[0]!.buildroot).toBe('"Buildroot 2024.05.1"') // keeps its quote characters
  })

  it('uses the key "uart" for UART reads', async () => {
    expect((await api(b, 'opt=get&type=uart&node=0')).body).toMatch(/^\{"response":\[\{"uart":/)
  })

  it('envelopes errors with their status (400, 500, 501)', async () => {
    const bad = await api(b, 'opt=get&type=bogus')
    expect([bad.status, bad.body]).toEqual([400, '{"response":[{"result":"Invalid `type` parameter bogus"}]}'])
    const noMask = await api(b, 'opt=set&type=power')
    expect([noMask.status, noMask.body]).toEqual([
      500,
      '{"response":[{"result":"Failed to set power state: Condition failed: `mask != 0` (0 vs 0)"}]}'
    ])
    for (const t of ['sdcard', 'nodeinfo']) expect((await api(b, `opt=set&type=${t}`)).status).toBe(501)
  })

  it('answers flash-family errors as 500 text/plain with the bare message', async () => {
    const r = await api(b, 'opt=set&type=flash&node=0&file=x.img')
    expect([r.status, r.body]).toEqual([500, 'Invalid `length` query parameter'])
    expect(r.headers['content-type']).toMatch(/^text\/plain/)
    const up = await call(b, '/api/bmc/upload/1', {
      method: 'POST',
      body: 'x',
      headers: { 'Content-Type': 'multipart/form-data; boundary=z' }
    })
    expect(up.status).toBe(500)
    expect(up.body).toMatch(/^cannot execute command in current state\. current=Ready, expected=Transferring$/)
  })

  it('names missing and invalid opt/type', async () => {
    expect((await api(b, 'type=power')).body).toBe('{"response":[{"result":"Missing `opt` parameter"}]}')
    expect((await api(b, 'opt=get')).body).toBe('{"response":[{"result":"Missing `type` parameter"}]}')
    expect((await api(b, 'opt=GET&type=power')).status).toBe(400) // case-sensitive since 2.x
  })
})

describe('checklist 9: node indexing', () => {
  it.each([
    ['node=4', 'Parameter `node` is out of range 0..3 of node IDs'],
    ['node=-1', 'Parameter `node` is out of range 0..3 of node IDs'],
    ['node=x', 'Parameter `node` is not a number'],
    ['', 'Missing `node` parameter']
  ])('uart read with %s → 400 "%s"', async (q, msg) => {
    const r = await api(b, `opt=get&type=uart&${q}`)
    expect([r.status, JSON.parse(r.body).response[0].result]).toEqual([400, msg])
  })

  it('wraps node=256 to node 0 (i32 cast to u8)', async () => {
    b.uart(1).write('slot-one')
    expect(JSON.parse((await api(b, 'opt=get&type=uart&node=256')).body).response[0].uart).toContain('slot-one')
  })

  it('takes power keys node1..4 with 0/1 only', async () => {
    const r = await api(b, 'opt=set&type=power&node3=2')
    expect([r.status, JSON.parse(r.body).response[0].result]).toEqual([400, 'Invalid value `2` for parameter `node3`'])
  })
})

describe('checklist 10: power state', () => {
  it('changes only the listed nodes and emits power events', async () => {
    powerEvents.length = 0
    await result('opt=set&type=power&node1=1&node3=1')
    expect(await result('opt=get&type=power')).toEqual([{ node1: '1', node2: '0', node3: '1', node4: '0' }])
    await result('opt=set&type=power&node1=0')
    expect(await result('opt=get&type=power')).toEqual([{ node1: '0', node2: '0', node3: '1', node4: '0' }])
    expect(powerEvents).toEqual([
      [1, true],
      [3, true],
      [1, false]
    ])
    expect(b.power(3)).toBe(true)
    await result('opt=set&type=power&node3=0')
  })

  it('reset cycles the rail (off then on) without touching the stored bit', async () => {
    powerEvents.length = 0
    expect(await result('opt=set&type=reset&node=1')).toBe('ok')
    expect(powerEvents).toEqual([[2, true]]) // was off: only the "on" edge is a change
    expect(b.power(2)).toBe(true)
    expect(b.storedPower(2)).toBe(false)
    expect(await result('opt=get&type=power')).toEqual([{ node1: '0', node2: '0', node3: '0', node4: '0' }])
    await result('opt=set&type=power&node2=1')
    powerEvents.length = 0
    await result('opt=set&type=reset&node=1')
    expect(powerEvents).toEqual([
      [2, false],
      [2, true]
    ])
    await result('opt=set&type=power&node2=0')
  })

  it('tracks power_on_time in node_info (null while off)', async () => {
    await result('opt=set&type=power&node4=1')
    const entries = (await result('opt=get&type=node_info')) as { power_on_time: number | null }[]
    expect(entries).toHaveLength(4)
    expect(entries[0]!.power_on_time).toBeNull()
    expect(entries[3]!.power_on_time).toBe(0)
    await result('opt=set&type=power&node4=0')
  })
})

describe('checklist 16: the other types', () => {
  it('usb set/get round-trips mode and route, and mode 3 drops the connection', async () => {
    expect(await result('opt=set&type=usb&node=2&mode=5')).toBe('ok')
    expect(await result('opt=get&type=usb')).toEqual([
      { mode: 'Device', node: 'Node 3', route: 'Bmc', bus_type: 'Usb hub' }
    ])
    await result('opt=set&type=usb&node=0&mode=1')
    expect(await result('opt=get&type=usb')).toEqual([
      { mode: 'Device', node: 'Node 1', route: 'AlternativePort', bus_type: 'Usb hub' }
    ])
    for (const mode of [3, 7]) {
      const r = await api(b, `opt=set&type=usb&node=0&mode=${mode}`)
      expect(r.status).toBe(0)
      expect(r.error).toMatch(/socket hang up|ECONNRESET/)
    }
    expect((await api(b, 'opt=set&type=usb&node=0')).status).toBe(400)
    expect((await api(b, 'opt=set&type=usb&node=0&mode=x')).status).toBe(400)
  })

  it('usb_boot, clear_usb_boot and usb_node1 answer ok; node_to_msd powers the node in USB mode', async () => {
    expect(await result('opt=set&type=usb_boot&node=0')).toBe('ok')
    expect(await result('opt=set&type=clear_usb_boot')).toBe('ok')
    expect(await result('opt=get&type=usb_node1')).toBe(false)
    expect(await result('opt=set&type=usb_node1&alternative_port')).toBe('ok')
    expect(await result('opt=get&type=usb_node1')).toBe(true)
    const seen: unknown[] = []
    b.events.once('power', (...a: unknown[]) => seen.push(a))
    expect(await result('opt=set&type=node_to_msd&node=3')).toBe('ok')
    expect(seen).toEqual([[4, true, { usbBoot: true }]])
    await result('opt=set&type=power&node4=0')
  })

  it('sdcard reports bytes, or the literal 400 when there is no card', async () => {
    expect(await result('opt=get&type=sdcard')).toEqual([
      { total: expect.any(Number), use: expect.any(Number), free: expect.any(Number) }
    ])
    b.faults.sdcardMissing = true
    const r = await api(b, 'opt=get&type=sdcard')
    expect([r.status, r.body]).toEqual([400, '{"response":[{"result":"Failed to get microSD card info: {}"}]}'])
    b.faults.sdcardMissing = false
  })

  it('cooling get/set with 400 for missing or non-numeric and 500 for unknown device or over max', async () => {
    expect(await result('opt=get&type=cooling')).toEqual([{ device: 'system fan', speed: 3, max_speed: 5 }])
    expect(await result('opt=set&type=cooling&device=system%20fan&speed=4')).toBe('ok')
    expect(((await result('opt=get&type=cooling')) as { speed: number }[])[0]!.speed).toBe(4)
    expect((await api(b, 'opt=set&type=cooling&speed=1')).status).toBe(400)
    expect((await api(b, 'opt=set&type=cooling&device=system%20fan&speed=x')).status).toBe(400)
    expect((await api(b, 'opt=set&type=cooling&device=cpu&speed=1')).status).toBe(500)
    expect((await api(b, 'opt=set&type=cooling&device=system%20fan&speed=9')).status).toBe(500)
  })

  it('node_info POST stores name/module_name/uart_baud and answers 200 with an empty body', async () => {
    const r = await api(b, 'opt=set&type=node_info', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"Node2":{"name":"cp1","module_name":"RK1","uart_baud":9600}}'
    })
    expect([r.status, r.body]).toEqual([200, ''])
    const entries = (await result('opt=get&type=node_info')) as Record<string, unknown>[]
    expect(entries[1]).toMatchObject({ name: 'cp1', module_name: 'RK1', uart_baud: 9600 })
    expect(entries[0]).toEqual({ name: null, module_name: null, power_on_time: null, uart_baud: null })
    // actix's Json extractor: 400 text/plain (§8.10).
    const bad = await api(b, 'opt=set&type=node_info', {
      method: 'POST',
      body: 'nope',
      headers: { 'Content-Type': 'application/json' }
    })
    expect(bad.status).toBe(400)
    expect(bad.headers['content-type']).toMatch(/^text\/plain/)
  })

  it('nodeinfo stub, network ok, unknown type 400', async () => {
    expect(await result('opt=get&type=nodeinfo')).toEqual([{ node1: 0, node2: 0, node3: 0, node4: 0 }])
    expect(await result('opt=set&type=network&cmd=reset')).toBe('ok')
    expect((await api(b, 'opt=get&type=frobnicate')).body).toBe(
      '{"response":[{"result":"Invalid `type` parameter frobnicate"}]}'
    )
  })

  it('logs every request with method, path, query and status for assertions', async () => {
    await api(b, 'opt=get&type=about')
    await until(() => b.requests.at(-1)?.query.type === 'about')
    expect(b.requests.at(-1)).toMatchObject({
      method: 'GET',
      path: '/api/bmc',
      query: { opt: 'get', type: 'about' },
      status: 200
    })
  })
})
