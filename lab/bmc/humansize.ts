// humansize 2's DECIMAL format, which bmcd puts into `missing {} bytes` (§8.5): powers of 1000, two
// decimals unless the value is whole, "B" below 1 kB. Sizes are u64, so the caller wraps negatives.
const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB']

export function decimalSize(bytes: bigint): string {
  if (bytes < 1000n) return `${bytes} B`
  let value = Number(bytes)
  let unit = 0
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000
    unit++
  }
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${UNITS[unit]}`
}

/** `size - received` as Rust computes it on u64 (wrapping), for the over-long body case. */
export function wrappingMissing(size: number, received: number): bigint {
  return BigInt.asUintN(64, BigInt(size) - BigInt(received))
}
