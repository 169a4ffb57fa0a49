// A lab fleet: small K3s clusters (a server and an agent, no addons, no NPU stack), one per lab board,
// each its own cluster file in one folder, as a repository with clusters/ holds them. Used by
// `npm run demo -- --fleet`, test/e2e/fleet.test.ts and the fleet bench. Cluster i gets the LAN
// 10.10.(90+i).0/24 and its BMC at .70; the lab maps that BMC to the given lab board.
import { copyFile, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setupLabAction, type LabActionSetup } from './action.js'
import type { Lab } from './lab.js'

export interface FleetMember {
  name: string
  board: number
  setup: LabActionSetup
  /** Path of the cluster file in the fleet folder, relative to the fleet's root (as `config` takes it). */
  config: string
}

export function fleetClusterYaml(name: string, i: number, extra = ''): string {
  const net = `10.10.${90 + i}`
  return [
    'kind: k3s',
    `name: ${name}`,
    // Named boards: in a fleet every physical board needs a name of its own (list refuses one name on two BMCs).
    'boards:',
    `  - { name: ${name}-board, bmc: { endpoint: "https://${net}.70", tls: { fingerprint: "00" } } }`,
    'armbian_image:',
    '  source: url',
    '  url: https://dl.armbian.com/turing-rk1/Bookworm_vendor_minimal',
    `network: { prefix: 24, gateway: ${net}.1 }`,
    `control_plane: { board: ${name}-board, node: 1, ip: ${net}.73, hostname: ${name}-cp }`,
    'workers:',
    `  - { board: ${name}-board, node: 2, ip: ${net}.74, hostname: ${name}-w1 }`,
    'k3s_version: v1.31.3+k3s1',
    'pod_cidr: 10.244.0.0/16',
    'addons: { metallb: false, traefik: false, longhorn: false, prometheus: false }',
    'npu_config: { install_rknn: false, install_rkllm: false, deploy_rkllama: false }',
    extra
  ].join('\n')
}

/**
 * Writes the fleet's cluster files into `<root>/clusters/`, each prepared for the lab (BMC certificate
 * pinned, endpoint mapped to its lab board, DHCP reservations there, mirror seeded).
 */
export async function setupLabFleet(
  lab: Lab,
  root: string,
  clusters: { name: string; board: number }[]
): Promise<FleetMember[]> {
  await mkdir(join(root, 'clusters'), { recursive: true })
  const members: FleetMember[] = []
  for (const [i, { name, board }] of clusters.entries()) {
    const source = join(root, `${name}.source.yaml`)
    await writeFile(source, fleetClusterYaml(name, i))
    const own = await setupLabAction(lab, source)
    // One repository, one set of secrets: every cluster gets the first one's SSH key and age recipient.
    const first = members[0]?.setup
    const setup = first
      ? {
          ...own,
          ageIdentity: first.ageIdentity,
          inputs: {
            ...own.inputs,
            'ssh-private-key': first.inputs['ssh-private-key']!,
            'artifact-recipients': first.inputs['artifact-recipients']!
          }
        }
      : own
    if (!lab.boards[board]) throw new Error(`the lab has no board ${board}; start it with boards: ${board + 1}`)
    lab.mapBmc(setup.cluster.boardList[0]!.bmc.endpoint, board)
    for (const n of setup.cluster.nodes) lab.reserve(board, n.slot, n.ip)
    const config = `clusters/${name}.yaml`
    await copyFile(setup.configPath, join(root, config))
    members.push({
      name,
      board,
      setup: {
        ...setup,
        configPath: join(root, config),
        inputs: { ...setup.inputs, config, 'working-directory': root }
      },
      config
    })
  }
  return members
}
