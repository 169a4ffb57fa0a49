// `npm run demo -- --restore-drill` and `npm run demo -- --destroy` (dispatched from lab/demo.ts): the
// example K3s cluster made HA (three servers with real etcd members in the lab, one agent; addons and NPU
// off: the lab cannot snapshot the example's single-server SQLite datastore) is deployed through the
// shipped bundle, then
//   --restore-drill: a ConfigMap is written, `command: backup` uploads production-backup, the ConfigMap is
//     deleted, `command: restore` puts it back by its artifact id, and the ConfigMap and every node Ready
//     are shown;
//   --destroy: `command: destroy` with confirm, and the BMC's power status shows every slot off.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decryptLabArtifact, runLabAction, setupLabAction, type ActionRun } from './action.js'
import { KUBECTL_STANDIN } from './kube/binaries.js'
import type { Lab } from './lab.js'
import { haK3sOverrides } from './clusters.js'

const run = promisify(execFile)
const HA = haK3sOverrides()

export async function lifecycleDemo(
  lab: Lab,
  mode: 'restore-drill' | 'destroy',
  show: (chunk: string) => void
): Promise<number> {
  const setup = await setupLabAction(lab, 'examples/k3s-cluster.yaml', HA)
  const step = async (what: string, inputs: Record<string, string>): Promise<ActionRun> => {
    console.log(`\n$ INPUT_COMMAND=${inputs.command} node dist/main/index.js   # ${what}\n`)
    const r = await runLabAction(lab, setup, inputs, show)
    console.log(`${inputs.command}: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s`)
    if (r.code !== 0) throw new Error(`${inputs.command} failed (exit ${r.code})`)
    return r
  }
  const kubectl = async (args: string[], stdin?: string): Promise<string> => {
    const path = join(lab.dir, 'kubeconfig')
    writeFileSync(path, Object.values(await decryptLabArtifact(lab, setup, 'production-kubeconfig'))[0]!, {
      mode: 0o600
    })
    console.log(`$ kubectl ${args.join(' ')}`)
    const child = run(process.execPath, [KUBECTL_STANDIN, ...args, '--kubeconfig', path], {
      env: { ...process.env, ...lab.env() }
    })
    if (stdin !== undefined) child.child.stdin!.end(stdin)
    const { stdout } = await child
    console.log(stdout.trimEnd())
    return stdout
  }
  await step('deploy the HA example', { command: 'deploy' })
  if (mode === 'destroy') {
    await step('destroy, confirmed with the cluster name', { command: 'destroy', confirm: setup.cluster.name })
    const bmc = lab.boards[0]!.bmc
    const { stdout } = await run('curl', ['-sk', '-u', `root:${bmc.password}`, `${bmc.url}/api/bmc?opt=get&type=power`])
    console.log(`\nBMC power status after destroy: ${stdout}`)
    return /"node1":"0","node2":"0","node3":"0","node4":"0"/.test(stdout) ? 0 : 1
  }
  await kubectl(
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drill\n  namespace: default\ndata:\n  value: kept\n'
  )
  const backup = await step('backup', { command: 'backup' })
  console.log(
    `backup-artifact=${backup.outputs['backup-artifact']} backup-artifact-id=${backup.outputs['backup-artifact-id']}`
  )
  await kubectl(['delete', 'configmap', 'drill', '-n', 'default'])
  // As the nightly template restores: by the artifact's id, downloaded by the action from the backup's run.
  await step('restore the backup', {
    command: 'restore',
    'backup-artifact-id': backup.outputs['backup-artifact-id']!,
    'github-token': lab.results.githubToken,
    'backup-identity': setup.ageIdentity,
    confirm: setup.cluster.name
  })
  const cm = await kubectl(['get', 'configmap', 'drill', '-n', 'default', '-o', 'json'])
  await kubectl(['get', 'nodes'])
  return JSON.parse(cm).data?.value === 'kept' ? 0 : 1
}
