// A small valid K3s file; tests replace or append lines to break one rule at a time, so every line
// number asserted below can be read off this text.
export const BASE_K3S = `kind: k3s
name: lab
bmc:
  endpoint: https://10.10.88.70
  tls: { fingerprint: "abababababababababababababababababababababababababababababababab" }
armbian_image: { path: armbian.img }
control_plane: { node: 1, ip: 10.10.88.73, hostname: cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true }
  - { node: 3, ip: 10.10.88.75, hostname: w2, has_nvme: true }
metallb_ip_range: 10.10.88.80-10.10.88.89
`

export const BASE_TALOS = `kind: talos
name: lab
bmc:
  endpoint: https://10.10.88.70
  tls: { fingerprint: "abababababababababababababababababababababababababababababababab" }
control_plane: { node: 1, ip: 10.10.88.73, hostname: cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1 }
`

/** Replaces the first line that starts with `prefix` by `line`. */
export function withLine(text: string, prefix: string, line: string): string {
  const lines = text.split('\n')
  const i = lines.findIndex((l) => l.startsWith(prefix))
  if (i < 0) throw new Error(`no line starting with ${prefix}`)
  lines[i] = line
  return lines.join('\n')
}
