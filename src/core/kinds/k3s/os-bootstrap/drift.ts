// Read-only drift of the OS on K3s nodes: Armbian for the RK1, the release and kernel branch the cluster
// file's image names (Armbian image names carry both: Armbian_25.8.1_Turing-rk1_bookworm_vendor_6.1.115,
// .../turing-rk1/Bookworm_vendor_minimal), and the vendor kernel wherever the NPU stack is wanted (only it
// has the RKNPU driver). Only a reflash changes any of them, so the rows say how.
import type { NodeSpec } from '../../../config/model.js'
import type { DriftFinding } from '../../../drift/types.js'
import { wantsNpu, type K3sCluster } from '../config.js'
import { readNode, rebuildPhases, reflashHint } from '../drift-shell.js'
import { parseFacts, script } from '../../../remote/script.js'
import { withPool } from '../../../remote/shells.js'
import { checkedSection, observeK3s } from '../observation.js'
import type { PhaseContext } from '../../../phases/types.js'

const RK1_BOARD = 'turing-rk1'
const RELEASES = ['bullseye', 'bookworm', 'trixie', 'focal', 'jammy', 'noble', 'plucky'] as const
const BRANCHES = ['legacy', 'vendor', 'current', 'edge'] as const

export interface WantedOs {
  /** Debian/Ubuntu codename, when the image name says it. */
  release?: string
  /** Armbian kernel branch, when the image name says it or the NPU needs the vendor one. */
  branch?: string
  /** What made the branch wanted, for the row. */
  because?: string
}

/** What the cluster file's Armbian image implies, from its file name (url or path) and npu_config. */
export function wantedOs(cluster: K3sCluster): WantedOs {
  const image = cluster.armbian_image.url ?? cluster.armbian_image.path ?? ''
  const name = image.split('/').filter(Boolean).slice(-2).join('_').toLowerCase()
  const words = new Set(name.split(/[^a-z0-9]+/))
  const release = RELEASES.find((r) => words.has(r))
  const npu = wantsNpu(cluster)
  const named = BRANCHES.find((b) => words.has(b))
  const branch = npu ? 'vendor' : named
  const because =
    npu && named !== 'vendor' ? 'npu_config: the RKNPU driver is only in the vendor kernel' : 'armbian_image'
  return { ...(release ? { release } : {}), ...(branch ? { branch, because } : {}) }
}

/** board, version, release, branch (from /etc/armbian-release), pretty (os-release) and kernel. */
export function osObserveScript(): string {
  return script(
    {},
    `
board=none version=none release=none branch=none pretty=unknown
# Read with bash alone (first KEY= line wins, as sed -n 's/^KEY=//p' | head -n1 would): no process per field.
declare -A seen=()
first() {
  local line key
  while IFS= read -r line || [ -n "$line" ]; do
    for key in "$@"; do
      if [[ $line == "$key="* && -z \${seen[$key]+x} ]]; then seen[$key]=\${line#"$key="}; fi
    done
  done < "$FILE"
}
if [ -r /etc/armbian-release ]; then
  FILE=/etc/armbian-release first BOARD VERSION DISTRIBUTION_CODENAME BRANCH
  board=\${seen[BOARD]:-} version=\${seen[VERSION]:-} release=\${seen[DISTRIBUTION_CODENAME]:-} branch=\${seen[BRANCH]:-}
fi
if [ -r /etc/os-release ]; then
  FILE=/etc/os-release first PRETTY_NAME
  pretty=\${seen[PRETTY_NAME]:-}
  pretty=\${pretty//'"'/}
fi
echo "board=\${board:-none}"
echo "version=\${version:-none}"
echo "release=\${release:-none}"
echo "branch=\${branch:-none}"
echo "pretty=\${pretty:-unknown}"
echo "kernel=$(uname -r)"`
  )
}

/** The rows for one node's observed facts; pure. */
export function osRows(cluster: K3sCluster, node: NodeSpec, facts: Record<string, string>): DriftFinding[] {
  const want = wantedOs(cluster)
  const reflash = `reflash with ${reflashHint(cluster, node)}`
  const row = (field: string, wanted: string, found: string): DriftFinding => ({
    subject: node.id,
    field,
    wanted,
    found: `${found} (${reflash})`,
    kind: 'drift',
    fixedBy: rebuildPhases(node),
    path: ['armbian_image']
  })
  if (facts.board !== RK1_BOARD)
    return [
      row(
        'os',
        `Armbian for ${RK1_BOARD}`,
        facts.board === 'none' ? `${facts.pretty}, not Armbian` : `Armbian for ${facts.board}`
      )
    ]
  const rows: DriftFinding[] = []
  if (want.release && facts.release !== want.release)
    rows.push(row('os.release', want.release, `${facts.release} (Armbian ${facts.version})`))
  if (want.branch && facts.branch !== want.branch)
    rows.push(row('os.kernel', `${want.branch} kernel (${want.because})`, `${facts.branch} kernel ${facts.kernel}`))
  return rows
}

export function osDrift(ctx: PhaseContext): Promise<DriftFinding[]> {
  const cluster = ctx.cluster as K3sCluster
  return withPool(ctx, 'os-bootstrap', async (pool) => {
    const rows = await Promise.all(
      ctx.nodes.map((node) =>
        readNode(ctx, pool, node, async (shell) => {
          const seen = await observeK3s(ctx, node, { phase: 'os-bootstrap', shell: async () => shell })
          const { stdout } = checkedSection(seen, 'os', 'os-bootstrap', 'reading the OS release')
          return osRows(cluster, node, parseFacts(stdout))
        })
      )
    )
    return rows.flat()
  })
}
