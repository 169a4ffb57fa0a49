// Known bmcd flash error texts (bmc-api.md §4.5, §8.15) turned into what the user should do.
/** `source`: the URL or path the image came from, named when the file itself is bad. */
export function advice(message: string, fileName: string, source?: string): string {
  const from = source ? ` (from ${source})` : ''
  if (/USB interface not found/i.test(message))
    return 'the module did not enter flash mode: check it is seated and is an RK1/CM4 the BMC supports'
  if (/More memory needed|format not recognized|Data is corrupt|Unexpected end of input|lzma|\bxz\b/i.test(message)) {
    return `the image file ${fileName}${from} is corrupt or truncated: the BMC could not decompress it as .xz. Delete the cached copy or fix the source, check its sha256, then re-run`
  }
  if (/sha256/i.test(message))
    return `the bytes the BMC received do not match the image's sha256: the image file ${fileName}${from} is corrupt or truncated, or changed in transit; the cached copy is re-verified on the next run`
  if (/crc/i.test(message)) return 'the eMMC read back differently than written: the eMMC may be failing'
  if (/cancel/i.test(message))
    return 'someone or something cancelled the flash (a second flash request on the BMC also cancels)'
  if (/timeout/i.test(message)) return 'the upload did not start in time after the flash request'
  return 'see the BMC log'
}
