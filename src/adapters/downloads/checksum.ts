// Reads upstream checksum files. Kept in the adapter (adapters import no core logic).

/**
 * The digest for `entry` in a checksum file: `<hex>  <name>` lines (sha256sum, talos, k3s, helm) matched
 * on the basename, or a bare digest (kubectl .sha256). Undefined when absent.
 */
export function findChecksum(text: string, entry?: string): string | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
  if (!entry) {
    const bare = /^([0-9a-f]{64})\b/i.exec(lines[0] ?? '')
    return bare?.[1]?.toLowerCase()
  }
  for (const line of lines) {
    const m = /^([0-9a-f]{64})\s+\*?(\S+)$/i.exec(line)
    if (m && (m[2] as string).split('/').pop() === entry) return (m[1] as string).toLowerCase()
  }
  return undefined
}
