import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createSshConnector } from '../../../src/adapters/ssh/ssh2-connector.js'
import type { Deps } from '../../../src/core/deps.js'
import { runChecked, ShellPool, withSharedShells } from '../../../src/core/remote/shells.js'
import { startSshd, type TestSshd } from '../../adapters/ssh/sshd.js'
import { phaseContext } from '../kinds/k3s/context.js'
import { k3sCluster } from '../kinds/k3s/fixtures.js'

let sshd: TestSshd
const cluster = k3sCluster(
  `ssh: { user: root, port: 22 }`,
  'control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }'
)

function deps(): Deps {
  return {
    ssh: createSshConnector({ connectAttempts: 1 }),
    // The node's LAN address goes to the test sshd on loopback.
    net: {
      map: (host: string, port: number) =>
        host === '10.10.88.73' && port === 22 ? { host: '127.0.0.1', port: sshd.port } : { host: '127.0.0.9', port: 9 }
    },
    sleep: async () => {}
  } as unknown as Deps
}

beforeAll(async () => {
  sshd = await startSshd()
})
afterAll(() => sshd.stop())

describe('ShellPool over OpenSSH', () => {
  test('records the host key at first contact, then enforces it; a mismatch names node and both keys', async () => {
    const ctx = await phaseContext(cluster, deps())
    ctx.settings.secrets.sshPrivateKey = sshd.clientKey
    const pool = new ShellPool(ctx, 'install')
    const { stdout } = await runChecked(
      await pool.shell(cluster.nodes[0]),
      'install',
      cluster.nodes[0],
      'probe',
      'echo hi'
    )
    await pool.closeAll()
    expect(stdout).toBe('hi\n')
    expect(ctx.state.node('k3s-cp').hostKey).toBe(sshd.hostFingerprint)
    expect(ctx.reporter.text()).toContain(`k3s-cp: recorded SSH host key ${sshd.hostFingerprint} at first contact`)
    expect(ctx.reporter.text()).not.toContain('PRIVATE KEY')

    const later = await phaseContext(cluster, deps(), ctx.settings.stateDir)
    later.settings.secrets.sshPrivateKey = sshd.clientKey
    expect(later.state.node('k3s-cp').hostKey).toBe(sshd.hostFingerprint)
    later.state.node('k3s-cp').hostKey = 'SHA256:0000000000000000000000000000000000000000000'
    const error = (await new ShellPool(later, 'join').shell(cluster.nodes[0]).catch((e: unknown) => e)) as Error & {
      code: string
    }
    expect(error.code).toBe('HostKeyMismatch')
    expect(error.message).toContain(
      'node k3s-cp: join failed: node k3s-cp: SSH host key changed: expected SHA256:0000000000000000000000000000000000000000000, the node presented ' +
        sshd.hostFingerprint
    )
  })

  test('a failing step shows its exit code and stderr tail, not its script', async () => {
    const ctx = await phaseContext(cluster, deps())
    ctx.settings.secrets.sshPrivateKey = sshd.clientKey
    const pool = new ShellPool(ctx, 'install')
    try {
      const shell = await pool.shell(cluster.nodes[0])
      const error = (await runChecked(
        shell,
        'install',
        cluster.nodes[0],
        'step "kernel"',
        'echo one >&2; echo two >&2; exit 7'
      ).catch((e: unknown) => e)) as Error
      expect(error.message).toBe(
        'node k3s-cp: install failed: step "kernel" exited with 7:\none\ntwo. To resume: re-run the same command; nodes that are already done are left untouched'
      )
    } finally {
      await pool.closeAll()
    }
  })

  test('without an SSH key the phase says which input to set', async () => {
    const ctx = await phaseContext(cluster, deps())
    delete ctx.settings.secrets.sshPrivateKey
    const error = (await new ShellPool(ctx, 'os-bootstrap').shell(cluster.nodes[0]).catch((e: unknown) => e)) as Error
    expect(error.message).toBe(
      'node k3s-cp: os-bootstrap failed: no SSH private key was given. To resume: set the ssh-private-key input (the key the image authorises) and re-run'
    )
  })
})

describe('withSharedShells (a drift run)', () => {
  test('every pool of the run reuses one connection per node, closed when the run is over', async () => {
    const connects: string[] = []
    const closed: string[] = []
    const base = deps()
    const counting = {
      ...base,
      ssh: {
        connect: async (o: { node: string }) => {
          connects.push(o.node)
          return {
            hostKeyFingerprint: 'SHA256:lab',
            shell: {
              exec: async () => ({ code: 0, stdout: 'hi\n', stderr: '' }),
              close: async () => void closed.push(o.node)
            }
          }
        }
      }
    } as unknown as Deps
    const ctx = await phaseContext(cluster, counting)
    ctx.settings.secrets.sshPrivateKey = 'key'
    const node = cluster.nodes[0]
    await withSharedShells(ctx, async () => {
      const a = new ShellPool(ctx, 'os-bootstrap')
      const b = new ShellPool(ctx, 'install')
      expect(await a.shell(node)).toBe(await b.shell(node))
      await a.closeAll()
      expect(closed).toEqual([]) // a module's pool ending does not end the run's connection
    })
    expect(connects).toEqual(['k3s-cp'])
    expect(closed).toEqual(['k3s-cp'])
    // Outside a shared run each pool has its own connection again.
    await new ShellPool(ctx, 'join').shell(node)
    expect(connects).toEqual(['k3s-cp', 'k3s-cp'])
  })
})
