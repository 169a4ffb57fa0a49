// The live-member rule: a node is flashed without reflash + confirm only on positive evidence that the
// flash destroys nothing. Evidence is one of three verdicts; anything short of proof is 'unknown', and
// 'unknown' is treated like a member. Pure: the observations themselves are gathered in evidence.ts.

/** What we know about a node's membership before writing its eMMC. */
export type Membership =
  /** The cluster (or the node itself) shows the node holds a cluster system. */
  | { kind: 'member'; detail: string }
  /** Proven: the cluster answers and does not count it, or the node boots no cluster system. */
  | { kind: 'not-member'; detail: string }
  /** No proof either way (cluster down and node off, state lost, wrong port, BMC unreachable…). */
  | { kind: 'unknown'; detail: string }

export const member = (detail: string): Membership => ({ kind: 'member', detail })
export const notMember = (detail: string): Membership => ({ kind: 'not-member', detail })
export const unknown = (detail: string): Membership => ({ kind: 'unknown', detail })

/** The plan/error text for a refused flash; the same words for every path that refuses. */
export function refusal(node: string, clusterName: string, m: Membership): string {
  const fix = `set reflash: true and confirm: ${clusterName}`
  if (m.kind === 'member')
    return `reflash refused: ${node} is a member of cluster "${clusterName}" (${m.detail}); ${fix}`
  return `reflash refused: cannot prove ${node} is not a cluster member (${m.detail}); ${fix}`
}

/**
 * Signs on a console that the eMMC holds a boot loader or an installed system (U-Boot, a kernel, an
 * Armbian login, Talos). DDR-init lines alone come from the SoC's first loader stage and prove nothing
 * is installed beyond it. Returns the last (most advanced) line that shows it, or undefined.
 */
export function installedSystemLine(consoleText: string): string | undefined {
  const signs =
    /U-Boot|Starting kernel|Linux version|login:|\[talos\]|maintenance (?:mode|service)|machine is running/gi
  let last: RegExpExecArray | undefined
  for (let m = signs.exec(consoleText); m; m = signs.exec(consoleText)) last = m
  if (!last) return undefined
  const start = consoleText.lastIndexOf('\n', last.index) + 1
  const end = consoleText.indexOf('\n', last.index)
  // The console is the node's to write: no escape sequence travels on into a log or a terminal.
  return consoleText
    .slice(start, end < 0 ? undefined : end)
    .replace(/\r/g, '')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .trim()
    .slice(0, 120)
}
