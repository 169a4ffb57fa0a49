import { describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { validEd25519 } from '../../lab/node/armbian.js'
import { buildArmbianImage, writeImageFiles } from '../../lab/images/index.js'
import { startLab, type BmcHandle, type StartBmc } from '../../lab/lab.js'

// Until lab/bmc lands, a BMC with the emulator's node-facing contract (events, UART ring, disk files).
const fakeBmc: StartBmc = async ({ dir, host }) => {
  const ring = new Map<number, string>()
  const bmc: BmcHandle & { ring: Map<number, string> } = {
    events: new EventEmitter(),
    ring,
    host,
    port: 44300,
    uart: (slot) => ({
      write: (t) => {
        ring.set(slot, (ring.get(slot) ?? '') + t)
      }
    }),
    diskPath: (slot) => join(dir, `slot${slot}.img`),
    stop: async () => undefined
  }
  return bmc
}

const key = validEd25519()

// curl as a user would call the BMC (Basic auth, the self-signed certificate not verified).
function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('curl', args, { encoding: 'utf8' }, (e, out) => (e ? reject(e) : resolve(out)))
  )
}

function sshHostname(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client()
    c.once('error', (e) => {
      c.end()
      reject(e)
    })
    c.once('ready', () =>
      c.exec('hostname', (err, s) => {
        if (err) {
          c.end()
          return reject(err)
        }
        let out = ''
        s.on('data', (d: Buffer) => {
          out += d.toString()
        }).on('close', () => {
          c.end()
          resolve(out.trim())
        })
      })
    )
    c.connect({ host, port, username: 'root', privateKey: key.private, readyTimeout: 10_000 })
  })
}

async function identityImage(path: string, hostname: string, ip?: string): Promise<void> {
  await copyFile((await buildArmbianImage()).path, path)
  await writeImageFiles(path, {
    '/etc/hostname': { content: `${hostname}\n`, mode: 0o644 },
    '/root/.ssh/authorized_keys': { content: key.public + '\n', mode: 0o600 },
    ...(ip
      ? {
          '/root/.not_logged_in_yet': {
            content: `PRESET_NET_CHANGE_DEFAULTS=1\nPRESET_NET_USE_STATIC=1\nPRESET_NET_STATIC_IP=${ip}\n`,
            mode: 0o600
          }
        }
      : {})
  })
}

describe('startLab', () => {
  it('starts and stops one board with four nodes in under 5 s and maps the BMC endpoint of a file', async () => {
    const t0 = Date.now()
    const lab = await startLab({ startBmc: fakeBmc })
    expect(lab.boards[0]!.nodes.map((n) => n.host)).toEqual(['127.10.0.1', '127.10.0.2', '127.10.0.3', '127.10.0.4'])
    lab.mapBmc('https://10.0.0.5', 0)
    expect(lab.net.map('10.0.0.5', 443)).toEqual({ host: '127.20.0.1', port: 44300 })
    expect(lab.env().TPI_LAB_DIR).toBe(lab.dir)
    await lab.stop()
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('maps a static IP and a DHCP reservation to the booted nodes, and forgets them at power off', async () => {
    const lab = await startLab({ startBmc: fakeBmc, bootDelayMs: 10, dhcp: [{ board: 0, slot: 2, ip: '10.0.0.12' }] })
    try {
      const bmc = lab.boards[0]!.bmc
      await identityImage(bmc.diskPath(1), 'node1', '10.0.0.11')
      await identityImage(bmc.diskPath(2), 'node2')
      bmc.events.emit('power', 1, true)
      bmc.events.emit('power', 2, true)
      await lab.node(0, 1).waitFor('up')
      await lab.node(0, 2).waitFor('up')
      const a = lab.net.map('10.0.0.11', 22)
      expect(a).toEqual({ host: '127.10.0.1', port: 2222 })
      expect(await sshHostname(a.host, a.port)).toBe('node1')
      const b = lab.net.map('10.0.0.12', 22)
      expect(await sshHostname(b.host, b.port)).toBe('node2')
      expect(JSON.parse(await readFile(join(lab.dir, 'address-map.json'), 'utf8'))['10.0.0.11:6443']).toBe(
        '127.10.0.1:6443'
      )
      bmc.events.emit('power', 2, false)
      await lab.node(0, 2).waitFor('off')
      expect(lab.net.map('10.0.0.12', 22)).toEqual({ host: '10.0.0.12', port: 22 })
    } finally {
      await lab.stop()
    }
  })

  it('starts and stops one board with the real BMC emulator, mirror and results service in under 5 s', async () => {
    const t0 = Date.now()
    const lab = await startLab()
    expect(lab.boards[0]!.bmc.url).toMatch(/^https:\/\/127\.20\.0\.1:\d+$/)
    expect(lab.mirror.url).toMatch(/^http:\/\/127\./)
    await lab.stop()
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('boots 8 boards x 4 nodes at once, powered on with curl through each emulated BMC, and each answers SSH with its own hostname', async () => {
    const lab = await startLab({ boards: 8, bootDelayMs: 4 })
    try {
      for (const b of lab.boards)
        for (const n of b.nodes)
          await identityImage(b.bmc.diskPath(n.slot), `n${b.index}-${n.slot}`, `10.1.${b.index}.${n.slot}`)
      const answers = await Promise.all(
        lab.boards.map((b) =>
          curl(['-sk', '-u', 'root:turing', `${b.bmc.url}/api/bmc?opt=set&type=power&node1=1&node2=1&node3=1&node4=1`])
        )
      )
      expect(answers).toEqual(lab.boards.map(() => '{"response":[{"result":"ok"}]}'))
      await Promise.all(lab.boards.flatMap((b) => b.nodes.map((n) => n.waitFor('up', 30_000))))
      const names = await Promise.all(
        lab.boards.flatMap((b) =>
          b.nodes.map((n) => {
            const to = lab.net.map(`10.1.${b.index}.${n.slot}`, 22)
            return sshHostname(to.host, to.port)
          })
        )
      )
      expect(names).toEqual(lab.boards.flatMap((b) => b.nodes.map((n) => `n${b.index}-${n.slot}`)))
    } finally {
      await lab.stop()
    }
  }, 60_000)
})
