// What a command sees inside a simulated Armbian node, over SSH with the action's adapter: the lab's
// shared folder as TPI_LAB_DIR, its loopback address as TPI_NODE_ADDR, the RKNPU facts at their real
// paths (the shipped NPU phase's observe script reads them) or none on a kernel without the driver,
// systemctl running units, and nothing left running after power off. Board 22 (127.10.22.x): no other
// suite uses it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { EventEmitter } from 'node:events'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildArmbianImage, writeImageFiles } from '../../../lab/images/index.js'
import { k3sStandinBinary } from '../../../lab/k3s/binary.js'
import { validEd25519 } from '../../../lab/node/armbian.js'
import { SimNode } from '../../../lab/node/sim-node.js'
import { createSshConnector } from '../../../src/adapters/ssh/ssh2-connector.js'
import type { RemoteShell } from '../../../src/adapters/ssh/types.js'
import { DEFAULT_NPU_PATHS, npuObserveScript } from '../../../src/core/kinds/k3s/npu/scripts.js'

const key = validEd25519()
const events = new EventEmitter()
let dir: string
let node: SimNode
let share: string

const power = async (on: boolean): Promise<void> => {
  events.emit('power', 1, on)
  await node.waitFor(on ? 'up' : 'off')
}

async function shell(): Promise<RemoteShell> {
  return (
    await createSshConnector().connect({
      node: 'n1',
      host: node.host,
      port: node.sshPort,
      user: 'root',
      privateKey: key.private
    })
  ).shell
}

async function sh(script: string): Promise<{ stdout: string; stderr: string; code: number }> {
  const s = await shell()
  try {
    return await s.exec(script)
  } finally {
    await s.close()
  }
}

/** Running (a killed process its parent has not reaped yet is a zombie: dead). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** Whether each pid is still alive after up to 2 s. */
async function dies(pids: number[]): Promise<boolean[]> {
  for (let i = 0; i < 40 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50))
  return pids.map(alive)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'simnode-inside-'))
  share = join(dir, 'share')
  mkdirSync(join(share, 'k3s'), { recursive: true })
  const bmc = {
    events,
    uart: () => ({ write: () => undefined }),
    diskPath: (slot: number) => join(dir, `slot${slot}.img`)
  }
  await copyFile((await buildArmbianImage({ dir })).path, bmc.diskPath(1))
  await writeImageFiles(bmc.diskPath(1), { '/root/.ssh/authorized_keys': { content: key.public + '\n', mode: 0o600 } })
  node = new SimNode({ bmc, board: 22, slot: 1, stateDir: join(dir, 'n1'), bootDelayMs: 10, share })
  await power(true)
}, 30_000)

afterAll(async () => {
  await node?.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('inside a simulated Armbian node', () => {
  test('the lab share is TPI_LAB_DIR (the k3s store at $TPI_LAB_DIR/k3s) and TPI_NODE_ADDR its loopback address', async () => {
    writeFileSync(join(share, 'k3s', 'from-the-lab'), 'x')
    const out = await sh(
      'echo "$TPI_LAB_DIR $TPI_NODE_ADDR"; ls "$TPI_LAB_DIR/k3s"; echo y > "$TPI_LAB_DIR/k3s/from-the-node"'
    )
    expect(out.stdout).toBe(`/run/lab-share 127.10.22.1\nfrom-the-lab\n`)
    expect(readFileSync(join(share, 'k3s', 'from-the-node'), 'utf8')).toBe('y\n')
  })

  test("every exec starts in the node's /root as root, under the hostname of its /etc/hostname", async () => {
    const first = await sh('pwd; id -u; hostname; ls -A .ssh')
    expect(first.stdout).toBe('/root\n0\nturing-rk1\nauthorized_keys\n')
    await sh('echo lab-renamed > /etc/hostname')
    expect((await sh('hostname; pwd')).stdout).toBe('lab-renamed\n/root\n')
    await sh('echo turing-rk1 > /etc/hostname')
    expect((await sh('hostname')).stdout).toBe('turing-rk1\n')
  })

  // The real mount(8), not the node's stand-in (which only records what it would mount).
  test('one mount table per node, as on the hardware: what one exec mounts the next one sees', async () => {
    await sh('mkdir -p /mnt/scratch && /bin/mount -t tmpfs tmpfs /mnt/scratch && echo kept > /mnt/scratch/f')
    expect((await sh('cat /mnt/scratch/f; grep -c " /mnt/scratch " /proc/self/mounts')).stdout).toBe('kept\n1\n')
    await sh('/bin/umount /mnt/scratch')
    expect((await sh('ls -A /mnt/scratch')).stdout).toBe('')
  })

  test('RKNPU driver at /sys/kernel/debug/rknpu/version and a render node in /dev/dri; none on a kernel without the driver', async () => {
    const facts = async (): Promise<string> =>
      (await sh(npuObserveScript(DEFAULT_NPU_PATHS))).stdout
        .split('\n')
        .filter((l) => /^(driver|render)=/.test(l))
        .join(' ')
    expect(await facts()).toBe('driver=v0.9.8 render=/dev/dri/renderD129')
    expect(
      (await sh('cat /sys/kernel/debug/rknpu/version; [ -c /dev/dri/renderD129 ] && echo char device')).stdout
    ).toBe('RKNPU driver: v0.9.8\nchar device\n')
    await node.setNpuDriver(undefined)
    expect(await facts()).toBe('driver=none render=none')
    expect((await sh('ls /dev/dri 2>&1 || true; ls -A /sys/kernel/debug')).stdout).toMatch(
      /^ls: cannot access '\/dev\/dri': No such file or directory\n$/
    )
    // The switch holds across boots.
    await power(false)
    await power(true)
    expect(await facts()).toBe('driver=none render=none')
    await node.setNpuDriver('v0.9.8')
    expect(await facts()).toBe('driver=v0.9.8 render=/dev/dri/renderD129')
  }, 30_000)

  test('systemctl runs units; power off kills them and every stray process; enabled units start again at boot', async () => {
    await sh(`cat > /etc/systemd/system/lab-sleeper.service <<'EOF'
[Service]
ExecStart=/bin/sleep 600
EOF`)
    const enable = await sh(
      'systemctl enable lab-sleeper; systemctl enable lab-sleeper; systemctl start lab-sleeper; systemctl is-active lab-sleeper'
    )
    expect(enable.stderr).toBe(
      'Created symlink /etc/systemd/system/multi-user.target.wants/lab-sleeper.service → /etc/systemd/system/lab-sleeper.service.\n'
    )
    expect(enable.stdout).toBe('active\n')
    const unitPid = Number(readFileSync(join(node.rootDir, 'run/lab-units/lab-sleeper.service.pid'), 'utf8'))
    // A process an exec leaves behind in its own session, outside any unit.
    const stray = Number((await sh('setsid sleep 601 > /dev/null 2>&1 < /dev/null & echo $!')).stdout.trim())
    expect([alive(unitPid), alive(stray)]).toEqual([true, true])
    const failing = await sh(
      `printf '[Service]\\nExecStart=/bin/false\\n' > /etc/systemd/system/lab-false.service; systemctl start lab-false || echo "rc=$?"; systemctl is-active lab-false || echo "rc=$?"`
    )
    expect(failing.stdout).toBe('rc=1\nfailed\nrc=3\n')

    await power(false)
    // SIGKILL is delivered asynchronously: on a loaded machine the process may take a moment to die.
    expect(await dies([unitPid, stray])).toEqual([false, false])
    await power(true)
    const after = await sh('systemctl is-active lab-sleeper; systemctl is-active lab-false || true')
    expect(after.stdout).toBe('active\ninactive\n')
    const again = Number(readFileSync(join(node.rootDir, 'run/lab-units/lab-sleeper.service.pid'), 'utf8'))
    expect(again).not.toBe(unitPid)
    expect(alive(again)).toBe(true)
  }, 30_000)

  test("the host's /tmp is hidden, but the stand-in wrappers still reach the checkout and node at their host paths", async () => {
    // The k3s wrapper execs process.execPath on a script in the checkout by absolute path; CI clones
    // into /tmp, which the node replaces with its own.
    writeFileSync(join(dir, 'host-only'), 'x')
    const k3s = k3sStandinBinary('v1.31.3+k3s1').replace(/'/g, "'\\''")
    const out = await sh(
      `[ -e ${join(dir, 'host-only')} ] && echo visible || echo hidden; printf %s '${k3s}' > /usr/local/bin/k3s; chmod +x /usr/local/bin/k3s; k3s --version | head -1`
    )
    expect(out.stdout).toMatch(/^hidden\nk3s version v1\.31\.3\+k3s1 \([0-9a-f]+\)\n$/)
  })

  test('a mount by its fstab entry is what mountpoint sees in later execs, and boot mounts fstab again', async () => {
    const setup = await sh(
      'mkfs.ext4 -q -L tpi-data /dev/nvme0n1 > /dev/null && u=$(blkid -p -s UUID -o value /dev/nvme0n1) && ' +
        'echo "UUID=$u /var/lib/longhorn ext4 defaults,nofail 0 2" >> /etc/fstab && mkdir -p /var/lib/longhorn && ' +
        '{ mountpoint /var/lib/longhorn || true; } && mount /var/lib/longhorn && mountpoint /var/lib/longhorn && { mount /var/lib/longhorn 2>&1 || true; }'
    )
    expect(setup.stdout).toBe(
      '/var/lib/longhorn is not a mountpoint\n/var/lib/longhorn is a mountpoint\nmount: /var/lib/longhorn: /dev/nvme0n1 already mounted on /var/lib/longhorn.\n'
    )
    expect((await sh('mountpoint -q /var/lib/longhorn && echo mounted')).stdout).toBe('mounted\n')
    await power(false)
    await power(true)
    expect((await sh('mountpoint /var/lib/longhorn; mount | grep longhorn')).stdout).toBe(
      '/var/lib/longhorn is a mountpoint\n/dev/nvme0n1 on /var/lib/longhorn type ext4 (rw,relatime)\n'
    )
  }, 30_000)
})
