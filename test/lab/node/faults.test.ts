import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { EventEmitter } from 'node:events'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { validEd25519 } from '../../../lab/node/armbian.js'
import { buildArmbianImage, writeImageFiles } from '../../../lab/images/index.js'
import { SimNode } from '../../../lab/node/sim-node.js'

class FakeBmc {
  events = new EventEmitter()
  ring = new Map<number, string>()
  constructor(private dir: string) {}
  uart(slot: number) {
    return {
      write: (t: string) => {
        this.ring.set(slot, (this.ring.get(slot) ?? '') + t)
      }
    }
  }
  diskPath(slot: number) {
    return join(this.dir, `slot${slot}.img`)
  }
}

const key = validEd25519()
const port = 20000 + ((process.pid + 7) % 20000)

function run(host: string, cmd: string): Promise<{ out: string; hostKey: string }> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client()
    let hostKey = ''
    c.once('error', (e) => {
      c.end()
      reject(e)
    })
    c.once('ready', () =>
      c.exec(cmd, (err, s) => {
        if (err) {
          c.end()
          return reject(err)
        }
        let out = ''
        s.on('data', (d: Buffer) => {
          out += d.toString()
        }).on('close', () => {
          c.end()
          resolve({ out, hostKey })
        })
      })
    )
    c.connect({
      host,
      port,
      username: 'root',
      privateKey: key.private,
      hostVerifier: (k: Buffer) => {
        hostKey = k.toString('base64')
        return true
      }
    })
  })
}

describe('simulated node faults and first boot', () => {
  let dir: string
  let bmc: FakeBmc
  const nodes: SimNode[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simnode-faults-'))
    bmc = new FakeBmc(dir)
    const img = await buildArmbianImage()
    for (const s of [1, 2, 3]) await copyFile(img.path, bmc.diskPath(s))
    await writeImageFiles(bmc.diskPath(3), {
      '/root/.ssh/authorized_keys': { content: key.public + '\n', mode: 0o600 }
    })
  })
  afterAll(async () => {
    for (const n of nodes) await n.close()
    await rm(dir, { recursive: true, force: true })
  })
  const make = (slot: number): SimNode => {
    const n = new SimNode({ bmc, board: 3, slot, stateDir: join(dir, `n${slot}`), bootDelayMs: 8, sshPort: port })
    nodes.push(n)
    return n
  }

  it('a node that never boots stays at the DDR lines with a good image', async () => {
    const n = make(1)
    n.faults.neverBoot = true
    bmc.events.emit('power', 1, true)
    await n.waitFor('stuck')
    expect(bmc.ring.get(1)).not.toContain('U-Boot')
  })

  it('an empty slot prints nothing and stays off', async () => {
    const n = make(2)
    n.faults.empty = true
    await n.powerOn()
    expect(n.state).toBe('off')
    expect(bmc.ring.get(2)).toBeUndefined()
  })

  it('without identity: default hostname, no LAN address, a host key made at first boot and kept until reflash', async () => {
    const n = make(3)
    bmc.events.emit('power', 3, true)
    await n.waitFor('up')
    expect(bmc.ring.get(3)?.endsWith('turing-rk1 login: ')).toBe(true)
    expect(n.lanIp).toBeUndefined()
    const first = await run(n.host, 'hostname')
    expect(first.out).toBe('turing-rk1\n')
    await n.powerOff()
    await n.powerOn()
    expect((await run(n.host, 'true')).hostKey).toBe(first.hostKey)
    await n.reflashed()
    await n.powerOn()
    expect((await run(n.host, 'true')).hostKey).not.toBe(first.hostKey)
  })

  it('the fake NVMe refuses to mount until mkfs.ext4 formats it', async () => {
    const n = nodes[2]!
    const r = await run(
      n.host,
      'blkid /dev/nvme0n1; echo b=$?; mount /dev/nvme0n1 /mnt/nvme 2>/dev/null; echo m=$?; mkfs.ext4 -F /dev/nvme0n1 >/dev/null; blkid /dev/nvme0n1 | grep -c TYPE=\\"ext4\\"; mount /dev/nvme0n1 /mnt/nvme; mount'
    )
    expect(r.out).toBe('b=2\nm=32\n1\n/dev/nvme0n1 on /mnt/nvme type ext4 (rw,relatime)\n')
    const calls = (await readFile(join(n.rootDir, 'var/log/lab-calls.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).cmd)
    expect(calls).toEqual(['blkid', 'mount', 'mkfs.ext4', 'blkid', 'mount', 'mount'])
  })
})

describe('simulated node booting a Talos disk without lab/talos', () => {
  it('prints the maintenance-mode banner with its DHCP address', async () => {
    const { buildTalosImage } = await import('../../../lab/images/index.js')
    const dir = await mkdtemp(join(tmpdir(), 'simnode-talos-'))
    const bmc = new FakeBmc(dir)
    await copyFile((await buildTalosImage({ version: 'v1.9.5' })).path, bmc.diskPath(4))
    const n = new SimNode({ bmc, board: 3, slot: 4, stateDir: join(dir, 'n4'), bootDelayMs: 6, dhcpIp: '10.0.0.14' })
    await n.powerOn()
    expect(n.state).toBe('up')
    expect(n.os).toBe('talos-console')
    expect(bmc.ring.get(4)).toMatch(
      /\[talos\] this machine is reachable at: .*\r\n\[ +\d+\.\d{6}\] \[talos\]  10\.0\.0\.14 \{"component"/
    )
    await n.close()
    await rm(dir, { recursive: true, force: true })
  })
})

describe('slow boot fault', () => {
  it('holds the node in booting for the extra delay before the first console line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simnode-slow-'))
    const bmc = new FakeBmc(dir)
    await copyFile((await buildArmbianImage()).path, bmc.diskPath(1))
    const n = new SimNode({ bmc, board: 4, slot: 1, stateDir: join(dir, 'n1'), bootDelayMs: 4, sshPort: port })
    n.faults.slowBootMs = 300
    const t0 = Date.now()
    void n.powerOn()
    await new Promise((r) => setTimeout(r, 150))
    expect(n.state).toBe('booting')
    expect(bmc.ring.get(1)).toBeUndefined()
    await n.waitFor('up')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300)
    await n.close()
    await rm(dir, { recursive: true, force: true })
  })
})
