// The talosctl command lines of a Talos upgrade, as pure functions (tests assert exact argv). Every
// command names the node's own IP as both node and endpoint, never the cluster endpoint or a VIP: an
// upgrade through a VIP hangs when the VIP's holder is the node that reboots (siderolabs/talos#11830).
// No --preserve: since Talos 1.8 an upgrade keeps the EPHEMERAL partition by default and the flag is
// hidden (siderolabs/talos#10172); RK1 nodes run Talos 1.9 or later.

const target = (ip: string, talosconfig: string): string[] => [
  '--talosconfig',
  talosconfig,
  '--nodes',
  ip,
  '--endpoints',
  ip
]

/** Upgrades one node and waits (talosctl's own tracker: the boot id changes, the node is ready again). */
export const upgradeArgv = (i: {
  ip: string
  talosconfig: string
  image: string
  timeoutSeconds: number
}): string[] => [
  'upgrade',
  ...target(i.ip, i.talosconfig),
  '--image',
  i.image,
  '--wait',
  '--timeout',
  `${i.timeoutSeconds}s`
]

/** This control plane's view of etcd: member, leader, learner, errors. */
export const etcdStatusArgv = (ip: string, talosconfig: string): string[] => [
  'etcd',
  'status',
  ...target(ip, talosconfig)
]

/** Kubernetes to `to` across the cluster, driven from one control plane; a re-run resumes where it stopped. */
export const upgradeK8sArgv = (i: { ip: string; talosconfig: string; from: string; to: string }): string[] => [
  'upgrade-k8s',
  ...target(i.ip, i.talosconfig),
  '--from',
  i.from,
  '--to',
  i.to
]

/** One row of `talosctl etcd status`: NODE MEMBER DB SIZE IN USE LEADER … LEARNER ERRORS. */
export interface EtcdRow {
  node: string
  member: string
  leader: string
  learner: boolean
  errors: string
}

/** Parses the table by its header's column offsets (values such as "1.4 MB (66%)" hold spaces). */
export function parseEtcdStatus(stdout: string): EtcdRow[] {
  const lines = stdout.split('\n').filter((l) => l.trim())
  const header = lines.findIndex((l) => /^NODE\s+MEMBER\s/.test(l))
  if (header < 0) return []
  const head = lines[header]!
  const names = [
    'NODE',
    'MEMBER',
    'DB SIZE',
    'IN USE',
    'LEADER',
    'RAFT INDEX',
    'RAFT TERM',
    'RAFT APPLIED INDEX',
    'LEARNER',
    'ERRORS'
  ]
  const starts = names.map((n) => head.indexOf(n))
  if (starts.some((s) => s < 0)) return []
  const cell = (line: string, i: number): string =>
    line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()
  return lines.slice(header + 1).map((l) => ({
    node: cell(l, 0),
    member: cell(l, 1),
    leader: cell(l, 4),
    learner: cell(l, 8) === 'true',
    errors: cell(l, 9)
  }))
}
