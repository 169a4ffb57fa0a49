import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { EventEmitter } from 'node:events'
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import ssh2 from 'ssh2'
import { validEd25519 } from '../../../lab/node/armbian.js'
import { buildArmbianImage, writeImageFiles } from '../../../lab/images/index.js'
import { SimNode } from '../../../lab/node/sim-node.js'

// A stand-in for lab/bmc with the same contract: power/flashed events, a UART ring, a disk file per slot.
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

const clientKey = validEd25519()
const otherKey = validEd25519()
const port = 20000 + (process.pid % 20000)

function connect(host: string, privateKey: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client()
    c.once('ready', () => resolve(c)).once('error', (e) => {
      c.end()
      reject(e)
    })
    c.connect({ host, port, username: 'root', privateKey, readyTimeout: 5000 })
  })
}

function exec(c: ssh2.Client, cmd: string): Promise<{ out: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    c.exec(cmd, (err, s) => {
      if (err) return reject(err)
      let out = ''
      let code: number | null = null
      s.on('data', (d: Buffer) => {
        out += d.toString()
      }).on('exit', (c2: number | null) => {
        code = c2
      })
      s.stderr.on('data', (d: Buffer) => {
        out += d.toString()
      })
      s.on('close', () => resolve({ out, code }))
    })
  })
}

describe('simulated RK1 node booting Armbian', () => {
  let dir: string
  let bmc: FakeBmc
  let node: SimNode
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'simnode-'))
    bmc = new FakeBmc(dir)
    const img = await buildArmbianImage({ dir })
    await copyFile(img.path, bmc.diskPath(1))
    await writeImageFiles(bmc.diskPath(1), {
      '/etc/hostname': { content: 'node1\n', mode: 0o644 },
      '/root/.ssh/authorized_keys': { content: clientKey.public + '\n', mode: 0o600 },
      '/root/.not_logged_in_yet': {
        content: 'PRESET_NET_CHANGE_DEFAULTS="1"\nPRESET_NET_USE_STATIC="1"\nPRESET_NET_STATIC_IP="10.0.0.11"\n',
        mode: 0o600
      }
    })
    node = new SimNode({ bmc, board: 0, slot: 1, stateDir: join(dir, 'n1'), bootDelayMs: 40, sshPort: port })
    bmc.events.emit('power', 1, true)
    await node.waitFor('up')
  })
  afterAll(async () => {
    await node.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('prints the RK1 boot log and stops at "<hostname> login: " on the UART', () => {
    const log = bmc.ring.get(1) ?? ''
    expect(log.indexOf('DDR ')).toBeLessThan(log.indexOf('U-Boot SPL'))
    expect(log).toContain('Starting kernel ...\r\n\r\n\r\nArmbian 25.8.1 Bookworm ttyS9 \r\n\r\n')
    expect(log.endsWith('node1 login: ')).toBe(true)
  })

  it('claims the static IP of its first-boot presets', () => {
    expect(node.lanIp).toBe('10.0.0.11')
  })

  it('accepts the authorized key, runs bash in its own root and refuses another key', async () => {
    const c = await connect(node.host, clientKey.private)
    const r = await exec(c, 'hostname; cat /etc/hostname; grep BOARD= /etc/armbian-release')
    c.end()
    expect(r).toEqual({ out: 'node1\nnode1\nBOARD=turing-rk1\n', code: 0 })
    await expect(connect(node.host, otherKey.private)).rejects.toThrow(/authentication/i)
  })

  it('records systemctl enable --now in lab-calls.jsonl and reports the unit active', async () => {
    const c = await connect(node.host, clientKey.private)
    const r = await exec(
      c,
      'systemctl enable --now foo && systemctl is-active foo; systemctl is-active bar; echo rc=$?'
    )
    c.end()
    // Like systemd, enable announces the new symlink on stderr (merged here).
    expect(r.out).toBe(
      'Created symlink /etc/systemd/system/multi-user.target.wants/foo.service → /etc/systemd/system/foo.service.\nactive\ninactive\nrc=3\n'
    )
    const calls = (await readFile(join(node.rootDir, 'var/log/lab-calls.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(calls[0]).toMatchObject({ cmd: 'systemctl', args: ['enable', '--now', 'foo'] })
  })

  it('lands an SFTP put with mode 0600 in the node root', async () => {
    const c = await connect(node.host, clientKey.private)
    const local = join(dir, 'secret.txt')
    await writeFile(local, 'token\n')
    await new Promise<void>((resolve, reject) =>
      c.sftp((e, sftp) => {
        if (e) return reject(e)
        sftp.fastPut(local, '/etc/lab-token', { mode: 0o600 }, (err) => (err ? reject(err) : resolve()))
      })
    )
    c.end()
    expect(await readFile(join(node.rootDir, 'etc/lab-token'), 'utf8')).toBe('token\n')
    expect((await stat(join(node.rootDir, 'etc/lab-token'))).mode & 0o777).toBe(0o600)
  })

  it('drops the SSH connection mid-command when the fault is armed', async () => {
    const c = await connect(node.host, clientKey.private)
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    node.faults.dropSshAfter(50)
    const r = await exec(c, 'sleep 5; echo done')
    await closed
    expect(r.out).toBe('')
    expect(r.code).not.toBe(0)
  })

  it('drops the connection of the next command that matches once its output matches, and ends all that command started', async () => {
    const c = await connect(node.host, clientKey.private)
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    node.faults.dropSshWhen(/install-step/, /halfway/)
    // Another command runs untouched while the fault waits for its command.
    expect(await exec(c, 'echo other')).toEqual({ out: 'other\n', code: 0 })
    expect(node.faults.ssh.dropWhen).toBeDefined()
    const r = await exec(
      c,
      ': install-step; (sleep 0.3; touch /root/from-background) & echo halfway; sleep 0.3; touch /root/after-drop'
    )
    await closed
    expect(r.code).not.toBe(0)
    expect(node.faults.ssh.dropWhen).toBeUndefined()
    // Neither the rest of the script nor the process it put in the background ran on.
    await new Promise((done) => setTimeout(done, 600))
    const exists = (p: string): Promise<boolean> =>
      stat(join(node.rootDir, p)).then(
        () => true,
        () => false
      )
    expect([await exists('root/from-background'), await exists('root/after-drop')]).toEqual([false, false])
  })

  it('drops a matching command at once when no output is awaited: nothing of it runs', async () => {
    const c = await connect(node.host, clientKey.private)
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    node.faults.dropSshWhen(/restart-step/)
    const r = await exec(c, ': restart-step; touch /root/restarted; echo restarted')
    await closed
    expect(r).toEqual({ out: '', code: null })
    await expect(stat(join(node.rootDir, 'root/restarted'))).rejects.toThrow()
    // The node itself is still up: a new connection works.
    const again = await connect(node.host, clientKey.private)
    expect(await exec(again, 'echo back')).toEqual({ out: 'back\n', code: 0 })
    again.end()
  })

  it('closes SSH on power off and wipes its root on reflash', async () => {
    const c = await connect(node.host, clientKey.private)
    const closed = new Promise<void>((r) => c.once('close', () => r()))
    await exec(c, 'touch /root/keep-me')
    bmc.events.emit('power', 1, false)
    await closed
    await node.waitFor('off')
    await expect(connect(node.host, clientKey.private)).rejects.toThrow()
    bmc.events.emit('flashed', 1, bmc.diskPath(1))
    await node.waitFor('off')
    // The wipe runs asynchronously after the 'flashed' event: wait for it, bounded (a loaded CI
    // machine needs more than a fixed few milliseconds).
    const gone = async (): Promise<boolean> =>
      stat(join(node.rootDir, 'root/keep-me')).then(
        () => false,
        () => true
      )
    for (let i = 0; i < 100 && !(await gone()); i++) await new Promise((r) => setTimeout(r, 50))
    await expect(stat(join(node.rootDir, 'root/keep-me'))).rejects.toThrow()
    bmc.events.emit('power', 1, true)
    await node.waitFor('up')
    await expect(stat(join(node.rootDir, 'root/keep-me'))).rejects.toThrow()
  })
})

describe('simulated node with a blank disk', () => {
  it('prints only the DDR lines and never reaches login', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'simnode-blank-'))
    const bmc = new FakeBmc(dir)
    await writeFile(bmc.diskPath(2), Buffer.alloc(1 << 20))
    const node = new SimNode({ bmc, board: 0, slot: 2, stateDir: join(dir, 'n2'), bootDelayMs: 10, sshPort: port })
    bmc.events.emit('power', 2, true)
    await node.waitFor('stuck')
    expect(bmc.ring.get(2)).toMatch(/^DDR [^]*out\r\n\r\n$/)
    expect(bmc.ring.get(2)).not.toContain('login:')
    await node.close()
    await rm(dir, { recursive: true, force: true })
  })
})
