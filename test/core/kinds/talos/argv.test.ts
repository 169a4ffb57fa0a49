import { describe, expect, test } from '@jest/globals'
import {
  applyArgv,
  bootstrapArgv,
  extensionsArgv,
  genConfigArgv,
  genSecretsArgv,
  genTalosconfigArgv,
  getDisksInsecureArgv,
  healthArgv,
  kubeconfigArgv,
  machineConfigsArgv,
  machineStatusArgv,
  serverVersionsArgv,
  validateArgv
} from '../../../../src/core/kinds/talos/argv.js'
import {
  bootstrapDone,
  bootstrapRetryable,
  modeFromDisks,
  parseDryRun,
  parseMachineConfigs,
  parseMachineStatus,
  lowestKubelet,
  sameConfig,
  schematicOf,
  serverTag,
  serverTags,
  unhealthyFrom
} from '../../../../src/core/kinds/talos/answers.js'

describe('talosctl argv', () => {
  test('gen config: one output type per node, patches in order, no docs or examples', () => {
    expect(
      genConfigArgv({
        clusterName: 'lab',
        endpoint: 'https://10.10.88.73:6443',
        secretsPath: '/t/secrets.yaml',
        role: 'worker',
        out: '/t/w1.yaml',
        installDisk: '/dev/mmcblk0',
        installImage: 'factory.talos.dev/metal-installer/x:v1.9.0',
        talosVersion: 'v1.9.0',
        patches: ['/t/a.yaml', '/repo/b.yaml']
      })
    ).toEqual([
      'gen',
      'config',
      'lab',
      'https://10.10.88.73:6443',
      '--with-secrets',
      '/t/secrets.yaml',
      '--output-types',
      'worker',
      '--output',
      '/t/w1.yaml',
      '--force',
      '--with-docs=false',
      '--with-examples=false',
      '--install-disk',
      '/dev/mmcblk0',
      '--install-image',
      'factory.talos.dev/metal-installer/x:v1.9.0',
      '--talos-version',
      'v1.9',
      '--config-patch',
      '@/t/a.yaml',
      '--config-patch',
      '@/repo/b.yaml'
    ])
  })

  test('secrets, talosconfig, validate', () => {
    expect(genSecretsArgv('/t/s.yaml')).toEqual(['gen', 'secrets', '--output-file', '/t/s.yaml'])
    expect(
      genTalosconfigArgv({
        clusterName: 'lab',
        endpoint: 'https://e:6443',
        secretsPath: '/s',
        out: '/o',
        talosVersion: 'v1.9.2'
      })
    ).toEqual([
      'gen',
      'config',
      'lab',
      'https://e:6443',
      '--with-secrets',
      '/s',
      '--output-types',
      'talosconfig',
      '--output',
      '/o',
      '--force',
      '--talos-version',
      'v1.9'
    ])
    expect(validateArgv('/t/cp.yaml')).toEqual(['validate', '--mode', 'metal', '--config', '/t/cp.yaml'])
  })

  test('maintenance apply is insecure without a talosconfig; a configured one names it', () => {
    expect(applyArgv({ ip: '10.0.0.2', file: '/f', mode: 'auto', insecure: true })).toEqual([
      'apply-config',
      '--insecure',
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2',
      '--file',
      '/f',
      '--mode',
      'auto'
    ])
    expect(applyArgv({ ip: '10.0.0.2', file: '/f', mode: 'auto', dryRun: true, talosconfig: '/tc' })).toEqual([
      'apply-config',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2',
      '--file',
      '/f',
      '--mode',
      'auto',
      '--dry-run'
    ])
  })

  test('observe, extensions, bootstrap, health, kubeconfig', () => {
    expect(getDisksInsecureArgv('10.0.0.2')).toEqual([
      'get',
      'disks',
      '--insecure',
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2'
    ])
    expect(machineStatusArgv('10.0.0.2', '/tc')).toEqual([
      'get',
      'machinestatus',
      '--output',
      'json',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2'
    ])
    expect(extensionsArgv('10.0.0.2', '/tc')).toEqual([
      'get',
      'extensions',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2'
    ])
    expect(bootstrapArgv('10.0.0.1', '/tc')).toEqual([
      'bootstrap',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1'
    ])
    expect(
      healthArgv({
        talosconfig: '/tc',
        ip: '10.0.0.1',
        controlPlanes: ['10.0.0.1'],
        workers: ['10.0.0.2', '10.0.0.3'],
        timeoutSeconds: 600
      })
    ).toEqual([
      'health',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1',
      '--control-plane-nodes',
      '10.0.0.1',
      '--worker-nodes',
      '10.0.0.2,10.0.0.3',
      '--wait-timeout',
      '600s'
    ])
    expect(kubeconfigArgv('10.0.0.1', '/tc', '/s/kubeconfig')).toEqual([
      'kubeconfig',
      '/s/kubeconfig',
      '--force',
      '--merge=false',
      '--talosconfig',
      '/tc',
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1'
    ])
  })
})

describe('reading talosctl answers', () => {
  test('get disks --insecure: table = maintenance, TLS refusal = configured, refused = unreachable', () => {
    expect(modeFromDisks({ code: 0, stdout: 'NODE NAMESPACE TYPE ID', stderr: '' })).toBe('maintenance')
    expect(
      modeFromDisks({
        code: 1,
        stdout: '',
        stderr:
          'error: rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: remote error: tls: certificate required"'
      })
    ).toBe('configured')
    expect(
      modeFromDisks({
        code: 1,
        stdout: '',
        stderr:
          'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.2:50000: connect: connection refused"'
      })
    ).toBe('unreachable')
  })

  test('dry run: "No changes." is unchanged; a diff with or without a reboot is a change', () => {
    expect(
      parseDryRun(
        'Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\nNo changes.\n'
      )
    ).toEqual({ changed: false, reboot: false, diff: 'No changes.' })
    const r = parseDryRun(
      'Dry run summary:\nApplied configuration with a reboot (skipped in dry-run).\n\nConfig diff:\n\n--- a\n+++ b\n-  type: worker\n+  type: controlplane\n'
    )
    expect(r.changed).toBe(true)
    expect(r.reboot).toBe(true)
    expect(
      parseDryRun(
        'Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\n--- a\n+++ b\n'
      ).reboot
    ).toBe(false)
  })

  test('bootstrap AlreadyExists is done; Unavailable and FailedPrecondition are retried', () => {
    expect(
      bootstrapDone(
        'error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty'
      )
    ).toBe(true)
    expect(bootstrapRetryable('error executing bootstrap: rpc error: code = Unavailable desc = connection error')).toBe(
      true
    )
    expect(bootstrapRetryable('rpc error: code = FailedPrecondition desc = bootstrap is not available yet')).toBe(true)
    expect(bootstrapRetryable('rpc error: code = PermissionDenied desc = not authorized')).toBe(false)
  })

  test('machinestatus JSON gives stage, readiness and unmet conditions', () => {
    const json = JSON.stringify(
      {
        node: '10.0.0.1',
        metadata: { id: 'machine' },
        spec: {
          stage: 'running',
          status: { ready: false, unmetConditions: [{ name: 'etcd', reason: 'not bootstrapped' }] }
        }
      },
      null,
      4
    )
    expect(parseMachineStatus(json)).toEqual({ stage: 'running', ready: false, unmet: ['etcd: not bootstrapped'] })
    expect(parseMachineStatus('garbage')).toBeUndefined()
  })

  test('health failure names the last check that did not pass', () => {
    const out =
      'waiting for etcd to be healthy: ...\nwaiting for etcd to be healthy: OK\nwaiting for all k8s nodes to report ready: ...\nwaiting for all k8s nodes to report ready: some nodes are not ready: [talos-w2]\ncontext deadline exceeded\n'
    expect(unhealthyFrom(out)).toBe('waiting for all k8s nodes to report ready: some nodes are not ready: [talos-w2]')
  })

  test('version: the Tag of the node in the Server part (real-samples C8), not the client Tag; none when the server part is an error', () => {
    const both =
      'Client:\n\tTag:         v1.9.1\n\tSHA:         348472f9\n\tBuilt:\n\tGo version:  go1.23.4\n\tOS/Arch:     linux/arm64\nServer:\n\tNODE:        10.4.64.2\n\tTag:         v1.8.3\n\tSHA:         348472f9\n\tEnabled:     RBAC\n'
    expect(serverTag(both)).toBe('v1.8.3')
    expect(
      serverTag('Client:\n\tTag:         v1.5.2\nServer:\nerror constructing client: failed to determine endpoints\n')
    ).toBeUndefined()
    expect(serverTag('Client:\n\tTag:         v1.5.2\n')).toBeUndefined()
  })

  test('extensions: the schematic id is the version of the virtual "schematic" extension; none on a non-factory image; undefined without the table', () => {
    const id = 'a'.repeat(64)
    const table =
      'NODE        NAMESPACE   TYPE              ID   VERSION   NAME                VERSION\n10.4.64.2   runtime     ExtensionStatus   0    1         iscsi-tools         v0.1.6\n10.4.64.2   runtime     ExtensionStatus   1    1         schematic           ' +
      id +
      '\n'
    expect(schematicOf(table)).toBe(id)
    expect(schematicOf('NODE   NAMESPACE   TYPE   ID   VERSION   NAME   VERSION\n')).toBeNull()
    expect(schematicOf('rpc error: code = Unavailable desc = connection refused')).toBeUndefined()
  })

  test("get machineconfig -o yaml over several nodes: each node's documents, a mapping spec (1.9) as its first document only", () => {
    const out = [
      'node: 10.0.0.1\nmetadata:\n    namespace: config\n    type: MachineConfigs.config.talos.dev\n    id: v1alpha1\n    version: 2\n    owner:\n    phase: running\nspec:\n    version: v1alpha1\n    machine:\n        type: controlplane\n',
      'node: 10.0.0.2\nmetadata:\n    id: v1alpha1\nspec: |\n    version: v1alpha1\n    machine:\n      type: worker\n    ---\n    apiVersion: v1alpha1\n    kind: HostnameConfig\n    hostname: w1\n'
    ].join('---\n')
    const got = parseMachineConfigs(out)
    expect([...got.keys()]).toEqual(['10.0.0.1', '10.0.0.2'])
    expect(got.get('10.0.0.1')).toEqual({
      docs: [{ version: 'v1alpha1', machine: { type: 'controlplane' } }],
      complete: false
    })
    expect(got.get('10.0.0.2')?.complete).toBe(true)
    expect(got.get('10.0.0.2')?.docs).toHaveLength(2)
    expect(parseMachineConfigs('1 error occurred:\n\t* rpc error: code = Unavailable\n').size).toBe(0)
  })

  test('the same config in another key order or formatting is the same; a partial view of a multi-document config cannot tell', () => {
    const main = { version: 'v1alpha1', machine: { type: 'worker', network: { hostname: 'w1' } } }
    const reordered = { machine: { network: { hostname: 'w1' }, type: 'worker' }, version: 'v1alpha1' }
    expect(sameConfig({ docs: [reordered], complete: false }, [main])).toBe(true)
    expect(sameConfig({ docs: [reordered], complete: false }, [{ ...main, debug: true }])).toBe(false)
    const typed = { apiVersion: 'v1alpha1', kind: 'HostnameConfig', hostname: 'w1' }
    expect(sameConfig({ docs: [main], complete: false }, [main, typed])).toBeUndefined()
    expect(sameConfig({ docs: [main, typed], complete: true }, [main, typed])).toBe(true)
    expect(sameConfig({ docs: [main], complete: true }, [main, typed])).toBe(false)
  })

  test('version over several nodes: the Tag of each NODE block (C8)', () => {
    const out =
      'Client:\n\tTag:         v1.9.0\nServer:\n\tNODE:        10.0.0.2\n\tTag:         v1.9.1\n\tSHA:         x\n\tEnabled:     RBAC\n\tNODE:        10.0.0.1\n\tTag:         v1.9.0\n'
    expect(serverTags(out)).toEqual({ '10.0.0.2': 'v1.9.1', '10.0.0.1': 'v1.9.0' })
    expect(serverTags('Client:\n\tTag:         v1.9.0\nServer:\nerror getting version: rpc error\n')).toEqual({})
  })

  test('several nodes in one call: every node is also an endpoint', () => {
    expect(machineConfigsArgv(['10.0.0.1', '10.0.0.2'], '/t/tc')).toEqual([
      'get',
      'machineconfig',
      '--output',
      'yaml',
      '--talosconfig',
      '/t/tc',
      '--nodes',
      '10.0.0.1,10.0.0.2',
      '--endpoints',
      '10.0.0.1,10.0.0.2'
    ])
    expect(serverVersionsArgv(['10.0.0.1'], '/t/tc')).toEqual([
      'version',
      '--talosconfig',
      '/t/tc',
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1'
    ])
  })

  test("the cluster's Kubernetes from the applied configs: the lowest kubelet image tag, or nothing when one config names none", () => {
    const node = (image?: string) => ({
      docs: [{ version: 'v1alpha1', machine: { kubelet: image ? { image } : {} } }],
      complete: false
    })
    expect(
      lowestKubelet([
        node('ghcr.io/siderolabs/kubelet:v1.32.0'),
        node('ghcr.io/siderolabs/kubelet:v1.31.4'),
        node('ghcr.io/siderolabs/kubelet:v1.32.1')
      ])
    ).toBe('v1.31.4')
    expect(lowestKubelet([node('ghcr.io/siderolabs/kubelet:v1.32.0'), node()])).toBeUndefined()
    expect(lowestKubelet([node('ghcr.io/siderolabs/kubelet:v1.32.0'), undefined])).toBeUndefined()
    expect(lowestKubelet([])).toBeUndefined()
  })
})
