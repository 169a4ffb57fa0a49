import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { CHARTS } from '../../../src/core/phases/addons/charts.js'
import { startStandinEnv, type StandinEnv } from './standin-env.js'

const metallb = CHARTS.metallb
let lab: StandinEnv
beforeEach(async () => {
  lab = await startStandinEnv()
})
afterEach(async () => lab.stop())

const pool = `apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: pool
  namespace: metallb-system
spec:
  addresses: [10.10.88.80-10.10.88.89]
`

async function installMetallb(extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const values = join(lab.labDir, 'v.yaml')
  writeFileSync(values, 'speaker:\n  logLevel: info\n')
  return lab.run('helm', [
    'upgrade',
    '--install',
    'metallb',
    'metallb',
    '--repo',
    metallb.repo,
    '--version',
    metallb.version,
    '--namespace',
    'metallb-system',
    '--create-namespace',
    '--values',
    values,
    '--wait',
    '--timeout',
    '30s',
    ...extra
  ])
}

describe('kubectl stand-in', () => {
  it('reaches the API through the address map and prints nodes like kubectl get nodes', async () => {
    lab.api.registerNode({
      name: 'rk1-a',
      ip: '10.10.88.73',
      roles: ['control-plane', 'master'],
      ready: true,
      kubeletVersion: 'v1.31.3+k3s1',
      osImage: 'Armbian',
      kernelVersion: '6.1.115',
      containerRuntime: 'containerd://1.7.23-k3s2'
    })
    const table = await lab.run('kubectl', ['get', 'nodes'])
    expect(table.code).toBe(0)
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/)
    expect(table.stdout.split('\n')[1]).toMatch(/^rk1-a\s+Ready\s+control-plane,master\s+\d+s\s+v1\.31\.3\+k3s1$/)
    const json = JSON.parse((await lab.run('kubectl', ['get', 'nodes', '-o', 'json'])).stdout)
    expect(json.kind).toBe('List')
    expect(json.items[0].metadata.name).toBe('rk1-a')
  })

  it('refuses a kubeconfig whose server is not in the lab address map instead of connecting to a LAN address', async () => {
    writeFileSync(join(lab.labDir, 'address-map.json'), '{}')
    const out = await lab.run('kubectl', ['get', 'nodes'])
    expect(out.code).toBe(1)
    expect(out.stderr).toBe(
      `Unable to connect to the server: 10.10.88.73:6443 is not in the lab address map (${lab.labDir}); the lab stand-ins only reach loopback addresses\n`
    )
  })

  it('fails to apply a MetalLB pool before the CRDs exist, then applies it server-side once MetalLB runs', async () => {
    const early = await lab.run('kubectl', ['apply', '--server-side', '-f', '-'], pool)
    expect(early.code).toBe(1)
    expect(early.stderr).toBe(
      'error: resource mapping not found for name: "pool" namespace: "metallb-system" from "STDIN": no matches for kind "IPAddressPool" in version "metallb.io/v1beta1"\nensure CRDs are installed first\n'
    )
    expect((await installMetallb()).code).toBe(0)
    const waited = await lab.run('kubectl', [
      'wait',
      '--namespace',
      'metallb-system',
      '--for=condition=Available',
      'deployment/metallb-controller',
      '--timeout=5s'
    ])
    expect(waited.stdout).toBe('deployment.apps/metallb-controller condition met\n')
    const applied = await lab.run(
      'kubectl',
      ['apply', '--server-side', '--field-manager=turingpi-cluster', '-f', '-'],
      pool
    )
    expect(applied).toEqual({ code: 0, stdout: 'ipaddresspool.metallb.io/pool serverside-applied\n', stderr: '' })
    const got = JSON.parse(
      (await lab.run('kubectl', ['get', 'ipaddresspools', 'pool', '-n', 'metallb-system', '-o', 'json'])).stdout
    )
    expect(got.spec).toEqual({ addresses: ['10.10.88.80-10.10.88.89'] })
    // Several types at once, as the addons phase reads the pool and the advertisement: one List of both.
    const both = JSON.parse(
      (
        await lab.run('kubectl', [
          'get',
          'ipaddresspools.metallb.io,l2advertisements.metallb.io',
          '--namespace',
          'metallb-system',
          '--output',
          'json'
        ])
      ).stdout
    ) as { kind: string; items: { kind: string; metadata: { name: string } }[] }
    expect([both.kind, both.items.map((i) => `${i.kind}/${i.metadata.name}`)]).toEqual(['List', ['IPAddressPool/pool']])
  })

  it('reports the webhook error while MetalLB webhook endpoints are not ready, and a wait timeout like kubectl', async () => {
    expect(
      (
        await lab.run(
          'helm',
          [
            'upgrade',
            '--install',
            'metallb',
            'metallb',
            '--repo',
            metallb.repo,
            '--version',
            metallb.version,
            '-n',
            'metallb-system',
            '--create-namespace'
          ],
          undefined,
          { TPI_LAB_KUBE_READY_MS: '5000' }
        )
      ).code
    ).toBe(0)
    const timeout = await lab.run('kubectl', [
      'wait',
      '-n',
      'metallb-system',
      '--for=condition=Available',
      'deployment/metallb-controller',
      '--timeout=200ms'
    ])
    expect(timeout).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: timed out waiting for the condition on deployments/metallb-controller\n'
    })
    const refused = await lab.run('kubectl', ['apply', '--server-side', '-f', '-'], pool)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(
      /^Error from server \(InternalError\): Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook\.metallb\.io"/
    )
  })

  it('labels and deletes a namespace with kubectl output lines', async () => {
    await lab.run(
      'kubectl',
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: longhorn-system\n'
    )
    expect(
      (
        await lab.run('kubectl', [
          'label',
          'namespace',
          'longhorn-system',
          'pod-security.kubernetes.io/enforce=privileged'
        ])
      ).stdout
    ).toBe('namespace/longhorn-system labeled\n')
    const clash = await lab.run('kubectl', [
      'label',
      'ns',
      'longhorn-system',
      'pod-security.kubernetes.io/enforce=baseline'
    ])
    expect(clash.stderr).toBe(
      "error: 'pod-security.kubernetes.io/enforce' already has a value (privileged), and --overwrite is false\n"
    )
    expect((await lab.run('kubectl', ['delete', 'namespace', 'longhorn-system'])).stdout).toBe(
      'namespace "longhorn-system" deleted\n'
    )
    expect((await lab.run('kubectl', ['get', 'ns', 'longhorn-system'])).stderr).toBe(
      'Error from server (NotFound): namespaces "longhorn-system" not found\n'
    )
  })
})

describe('kubectl stand-in: cordon, uncordon and budgets', () => {
  it('cordons and uncordons a node with kubectl’s lines, and lists pods, budgets and nodes in one List', async () => {
    lab.api.registerNode({
      name: 'rk1-b',
      ip: '10.10.88.74',
      roles: [],
      ready: true,
      kubeletVersion: 'v1.32.0',
      osImage: 'Talos (v1.10.7)',
      kernelVersion: '6.12.6-talos',
      containerRuntime: 'containerd://2.0.1'
    })
    expect((await lab.run('kubectl', ['cordon', 'rk1-b'])).stdout).toBe('node/rk1-b cordoned\n')
    expect((await lab.run('kubectl', ['cordon', 'rk1-b'])).stdout).toBe('node/rk1-b already cordoned\n')
    const listed = JSON.parse(
      (await lab.run('kubectl', ['get', 'pods,poddisruptionbudgets,nodes', '--all-namespaces', '--output', 'json']))
        .stdout
    ) as { kind: string; items: { kind: string; spec?: { unschedulable?: boolean } }[] }
    expect(listed.kind).toBe('List')
    expect(listed.items.find((i) => i.kind === 'Node')?.spec?.unschedulable).toBe(true)
    expect((await lab.run('kubectl', ['uncordon', 'rk1-b'])).stdout).toBe('node/rk1-b uncordoned\n')
    expect((await lab.run('kubectl', ['uncordon', 'rk1-b'])).stdout).toBe('node/rk1-b already uncordoned\n')
    expect((await lab.run('kubectl', ['uncordon', 'rk1-x'])).stderr).toBe(
      'Error from server (NotFound): nodes "rk1-x" not found\n'
    )
  })
})

describe('helm stand-in', () => {
  it('installs, upgrades and lists a release with helm list -A -o json rows and Helm 3 release secrets', async () => {
    const first = await installMetallb()
    expect(first.stdout).toMatch(
      /^Release "metallb" does not exist\. Installing it now\.\nNAME: metallb\nLAST DEPLOYED: .+\nNAMESPACE: metallb-system\nSTATUS: deployed\nREVISION: 1\nTEST SUITE: None\n$/
    )
    const second = await installMetallb()
    expect(second.stdout).toMatch(/^Release "metallb" has been upgraded\. Happy Helming!\n/)
    const rows = JSON.parse((await lab.run('helm', ['list', '--all-namespaces', '--output', 'json'])).stdout)
    expect(rows).toEqual([
      {
        name: 'metallb',
        namespace: 'metallb-system',
        revision: '2',
        updated: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC$/),
        status: 'deployed',
        chart: `metallb-${metallb.version}`,
        app_version: `v${metallb.version}`
      }
    ])
    const secrets = lab.api.state().objects
    const v1 = secrets['/secrets/metallb-system/sh.helm.release.v1.metallb.v1'] as any
    expect(v1.type).toBe('helm.sh/release.v1')
    expect(v1.metadata.labels).toEqual({ name: 'metallb', owner: 'helm', status: 'superseded', version: '1' })
    const release = JSON.parse(
      gunzipSync(Buffer.from(Buffer.from(v1.data.release, 'base64').toString(), 'base64')).toString()
    )
    expect(release.config).toEqual({ speaker: { logLevel: 'info' } })
    const values = await lab.run('helm', [
      'get',
      'values',
      'metallb',
      '--namespace',
      'metallb-system',
      '--output',
      'json'
    ])
    expect(JSON.parse(values.stdout)).toEqual({ speaker: { logLevel: 'info' } })
    const status = JSON.parse(
      (await lab.run('helm', ['status', 'metallb', '-n', 'metallb-system', '-o', 'json'])).stdout
    )
    expect(status).toMatchObject({
      name: 'metallb',
      namespace: 'metallb-system',
      version: 2,
      info: { status: 'deployed', description: 'Upgrade complete' }
    })
  })

  it('refuses an unpublished chart version and a repository that is neither upstream nor a loopback mirror of it', async () => {
    const badVersion = await lab.run('helm', [
      'upgrade',
      '--install',
      'metallb',
      'metallb',
      '--repo',
      metallb.repo,
      '--version',
      '9.9.9',
      '-n',
      'metallb-system'
    ])
    expect(badVersion).toMatchObject({
      code: 1,
      stderr: `Error: chart "metallb" version "9.9.9" not found in ${metallb.repo} repository\n`
    })
    const badRepo = await lab.run('helm', [
      'upgrade',
      '--install',
      'metallb',
      'metallb',
      '--repo',
      'https://charts.example.com',
      '--version',
      metallb.version,
      '-n',
      'metallb-system'
    ])
    expect(badRepo.stderr).toBe('Error: chart "metallb" not found in https://charts.example.com repository\n')
    const mirrored = await lab.run('helm', [
      'upgrade',
      '--install',
      'metallb',
      'metallb',
      '--repo',
      'http://127.0.0.1:8080/metallb.github.io/metallb',
      '--version',
      metallb.version,
      '-n',
      'metallb-system',
      '--create-namespace'
    ])
    expect(mirrored.code).toBe(0)
  })

  it('uninstalls a release: its objects and release secrets are gone and status says not found', async () => {
    await installMetallb()
    expect(
      (await lab.run('helm', ['uninstall', 'metallb', '--namespace', 'metallb-system', '--wait', '--timeout', '30s']))
        .stdout
    ).toBe('release "metallb" uninstalled\n')
    const keys = Object.keys(lab.api.state().objects)
    expect(keys.filter((k) => k.includes('metallb-system/') && !k.startsWith('/namespaces'))).toEqual([])
    expect((await lab.run('helm', ['status', 'metallb', '-n', 'metallb-system'])).stderr).toBe(
      'Error: release: not found\n'
    )
  })
})
