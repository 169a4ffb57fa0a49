// The Image Factory schematic built from the cluster file, and its id computed exactly as the factory
// does: siderolabs/image-factory marshals the schematic struct with gopkg.in/yaml.v3 (4-space indent,
// sequences indented under their key, fields in struct order: overlay, customization) and takes the
// sha256 of those bytes. So the same schematic gives the same id here, in the lab factory and upstream
// (e.g. the bare turingrk1 overlay is df156b82…, the empty schematic 376567988a…).
import { createHash } from 'node:crypto'
import type { Cluster } from '../../config/model.js'

/** Extensions Longhorn needs on Talos (iscsiadm and the util-linux tools it calls on the host). */
export const LONGHORN_EXTENSIONS = ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools'] as const

export interface Schematic {
  overlay?: { image: string; name: string }
  extensions: string[]
}

export interface SchematicPlan {
  schematic: Schematic
  /** Extensions added because Longhorn is on and the file did not list them (for the plan). */
  addedForLonghorn: string[]
}

type TalosCluster = Extract<Cluster, { kind: 'talos' }>

export function buildSchematic(cluster: TalosCluster): SchematicPlan {
  const f = cluster.image_factory
  const wanted = new Set(f.extensions)
  const addedForLonghorn = cluster.longhorn ? LONGHORN_EXTENSIONS.filter((e) => !wanted.has(e)) : []
  for (const e of addedForLonghorn) wanted.add(e)
  // Sorted so the order in the file does not change the id (the factory hashes the order it is sent).
  const extensions = [...wanted].sort()
  const overlay = f.overlay && f.overlay_board ? { image: f.overlay, name: f.overlay_board } : undefined
  return { schematic: { ...(overlay ? { overlay } : {}), extensions }, addedForLonghorn }
}

// yaml.v3 writes these plain; anything else would need its quoting rules, which we do not reproduce.
const PLAIN = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/

function plain(value: string, what: string): string {
  if (!PLAIN.test(value) || /^(true|false|null|yes|no|on|off|~|[-+.\d][\d.eE+-]*)$/i.test(value)) {
    throw new Error(
      `${what} "${value}" cannot be sent to the Image Factory as is: expected a name like siderolabs/iscsi-tools`
    )
  }
  return value
}

/** The schematic YAML in the factory's canonical form (what is POSTed and hashed). */
export function marshalSchematic(s: Schematic): string {
  const lines: string[] = []
  if (s.overlay) {
    lines.push(
      'overlay:',
      `    image: ${plain(s.overlay.image, 'overlay')}`,
      `    name: ${plain(s.overlay.name, 'overlay board')}`
    )
  }
  if (s.extensions.length === 0) {
    lines.push('customization: {}')
  } else {
    lines.push('customization:', '    systemExtensions:', '        officialExtensions:')
    for (const e of s.extensions) lines.push(`            - ${plain(e, 'extension')}`)
  }
  return lines.join('\n') + '\n'
}

export function schematicId(yaml: string): string {
  return createHash('sha256').update(yaml).digest('hex')
}

/** The installer image for that schematic and version (machine.install.image, upgrades). */
export function installerImage(id: string, version: string): string {
  return `factory.talos.dev/metal-installer/${id}:${version.startsWith('v') ? version : `v${version}`}`
}
