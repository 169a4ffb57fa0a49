import { describe, expect, test } from '@jest/globals'
import {
  etcdServiceArgv,
  etcdSnapshotArgv,
  recoverArgv,
  resetArgv
} from '../../../../../src/core/kinds/talos/lifecycle/argv.js'
import {
  parseSnapshotSaved,
  recoveredFrom,
  serviceState,
  unreachable
} from '../../../../../src/core/kinds/talos/lifecycle/answers.js'

const TC = ['--talosconfig', '/t/tc', '--nodes', '10.0.0.1', '--endpoints', '10.0.0.1']

describe('talosctl argv of the lifecycle commands', () => {
  test('etcd snapshot streams to a file on the runner from one control plane', () => {
    expect(etcdSnapshotArgv('10.0.0.1', '/t/tc', '/tmp/x.snapshot')).toEqual([
      'etcd',
      'snapshot',
      '/tmp/x.snapshot',
      ...TC
    ])
  })

  test('service etcd against one node', () => {
    expect(etcdServiceArgv('10.0.0.1', '/t/tc')).toEqual(['service', 'etcd', ...TC])
  })

  test('a restore resets only EPHEMERAL, not gracefully, and reboots; the caller waits itself', () => {
    expect(
      resetArgv({ ip: '10.0.0.1', talosconfig: '/t/tc', graceful: false, reboot: true, labels: ['EPHEMERAL'] })
    ).toEqual(['reset', ...TC, '--graceful=false', '--reboot', '--system-labels-to-wipe', 'EPHEMERAL', '--wait=false'])
  })

  test('a scale down resets gracefully (leaves etcd) and shuts down: no --reboot, every partition', () => {
    expect(resetArgv({ ip: '10.0.0.1', talosconfig: '/t/tc', graceful: true, reboot: false })).toEqual([
      'reset',
      ...TC,
      '--graceful=true',
      '--wait=false'
    ])
  })

  test('bootstrap --recover-from names the snapshot with =, so a path starting with - stays a value', () => {
    expect(recoverArgv('10.0.0.1', '/t/tc', '/tmp/recover.snapshot')).toEqual([
      'bootstrap',
      ...TC,
      '--recover-from=/tmp/recover.snapshot'
    ])
  })
})

describe('what talosctl prints, read back', () => {
  test('etcd snapshot: bytes from the saved line, hash, revision and keys from the info line', () => {
    expect(
      parseSnapshotSaved(
        'etcd snapshot saved to "db.snapshot" (2015264 bytes)\nsnapshot info: hash c25fd181, revision 4193, total keys 1287, total size 3035136\n'
      )
    ).toEqual({ bytes: 2015264, hash: 'c25fd181', revision: 4193, keys: 1287 })
    expect(parseSnapshotSaved('error reading etcd snapshot: rpc error')).toBeUndefined()
  })

  test('service etcd: the STATE row', () => {
    const out =
      'NODE     172.20.0.2\nID       etcd\nSTATE    Preparing\nHEALTH   ?\nEVENTS   [Preparing]: Running pre state (17s ago)\n'
    expect(serviceState(out)).toBe('Preparing')
    expect(serviceState(out.replace('Preparing\n', 'Running\n'))).toBe('Running')
    expect(serviceState('')).toBeUndefined()
  })

  test('bootstrap --recover-from: the snapshot summary after the file name', () => {
    expect(
      recoveredFrom(
        'recovering from snapshot "./db.snapshot": hash c25fd181, revision 4193, total keys 1287, total size 3035136\n'
      )
    ).toBe('hash c25fd181, revision 4193, total keys 1287, total size 3035136')
  })

  test('an unreachable node is told apart from a refusal', () => {
    expect(
      unreachable(
        'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.1:50000: connect: connection refused"'
      )
    ).toBe(true)
    expect(
      unreachable(
        'error executing reset: rpc error: code = FailedPrecondition desc = failed to leave etcd: this node is the only etcd member'
      )
    ).toBe(false)
  })
})
