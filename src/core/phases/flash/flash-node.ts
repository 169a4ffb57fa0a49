// One node's flash through its BMC: start, stream the file as the upload (never buffered) while
// polling progress, follow Transferring → (verify) → Done or Error, then leave the node OFF (the BMC
// powers it off after a flash; the boot step snapshots the UART and powers it on).
import { stat } from 'node:fs/promises'
import { FileSource } from '../../../adapters/bmc/file-source.js'
import type { BmcClient, FlashStatus, Slot } from '../../../adapters/bmc/types.js'
import { PhaseError, TpiError } from '../../errors.js'
import type { Reporter } from '../../reporter.js'
import { ProgressLog } from './progress.js'

export interface FlashJob {
  node: string
  slot: Slot
  bmc: BmcClient
  imagePath: string
  /** sha256 of the file as uploaded (hex), passed to the BMC to check. */
  sha256?: string
  reporter: Reporter
  sleep: (ms: number) => Promise<void>
  /** Whole flash bound (flash_timeout). */
  timeoutMs: number
  pollMs?: number
  progressEveryMs?: number
  now?: () => number
}

/**
 * Read size of the upload. The HTTPS client refills two buffers of this size in turn (FileSource), so
 * memory stays flat (peak RSS +0..8 MiB for a 2 GiB image); fresh Buffers per read (fs.createReadStream)
 * let ~64 MiB of spent chunks pile up before V8 collected them (+43..76 MiB). 4 MiB writes cost the
 * client less CPU than 1 MiB over TLS at the same or better throughput (bench/flash.bench.ts).
 */
export const UPLOAD_READ_BYTES = 4 << 20

export const RESUME = 're-run the workflow; nodes that finished are skipped (set reflash only to replace a working node)'

/** Known BMC error texts turned into advice. */
function advice(message: string): string {
  if (/USB interface not found/i.test(message)) return 'the module did not enter flash mode: check it is seated and is an RK1/CM4 the BMC supports'
  if (/sha256/i.test(message)) return 'the image changed in transit or on disk: the cached copy is re-verified on the next run'
  if (/crc/i.test(message)) return 'the eMMC read back differently than written: the eMMC may be failing'
  if (/cancel/i.test(message)) return 'someone or something cancelled the flash (a second flash request on the BMC also cancels)'
  if (/timeout/i.test(message)) return 'the upload did not start in time after the flash request'
  return 'see the BMC log'
}

export async function flashNode(job: FlashJob): Promise<{ seconds: number; bytes: number }> {
  const now = job.now ?? Date.now
  const started = now()
  const { size } = await stat(job.imagePath)
  const fileName = job.imagePath.split('/').pop() as string
  const request = { slot: job.slot, fileName, length: size, sha256: job.sha256, timeoutMs: job.timeoutMs }
  const fail = (seen: string, cause?: unknown): PhaseError => new PhaseError('flash', job.node, seen, RESUME, { cause, code: 'FlashFailed' })
  const progress = new ProgressLog((l) => job.reporter.info(`${job.node}: ${l}`), job.progressEveryMs)

  for (let attempt = 1; ; attempt++) {
    const handle = await job.bmc.startFlash(request)
    job.reporter.info(`${job.node}: flashing ${fileName} (${(size / 2 ** 20).toFixed(0)} MiB) to slot ${job.slot}`)
    let uploadError: unknown
    let uploaded = false
    const upload = job.bmc
      .upload(handle, new FileSource(job.imagePath, UPLOAD_READ_BYTES), request)
      .then(() => void (uploaded = true))
      .catch((e: unknown) => void (uploadError = e))
    let status: FlashStatus = { state: 'ready' }
    let cancelledByUs = false
    for (;;) {
      await job.sleep(job.pollMs ?? 1000)
      if (now() - started > job.timeoutMs) {
        await job.bmc.cancelFlash().catch(() => {})
        await upload
        throw fail(`no Done within flash_timeout ${Math.round(job.timeoutMs / 1000)} s (last state ${status.state}); the flash was cancelled`)
      }
      status = await job.bmc.flashStatus()
      if (status.state === 'transferring') progress.sample({ bytes: status.bytesWritten, total: status.size, at: now() })
      if (status.state === 'done' || status.state === 'error') break
      // The upload failed and the BMC has not noticed (yet): it will not progress, stop waiting.
      if (uploadError !== undefined && status.state !== 'transferring') break
      if (uploadError !== undefined && status.state === 'transferring') {
        // bmcd cancels a short upload itself; give it one poll to say so, then cancel ourselves.
        await job.sleep(job.pollMs ?? 1000)
        status = await job.bmc.flashStatus()
        if (status.state === 'transferring') {
          await job.bmc.cancelFlash().catch(() => {})
          cancelledByUs = true
        }
        break
      }
    }
    await upload
    if (status.state === 'done' && (uploaded || uploadError === undefined)) {
      job.reporter.info(`${job.node}: flash done in ${status.seconds.toFixed(0)} s`)
      return { seconds: (now() - started) / 1000, bytes: size }
    }
    const unauthorized = uploadError instanceof TpiError && uploadError.code === 'BmcUnauthorized'
    if (unauthorized && attempt === 1) {
      // The upload was refused before any byte reached the eMMC writer: a fresh start is not a re-POST.
      job.reporter.warn(`${job.node}: upload refused by the BMC session (401); starting the flash once more`)
      continue
    }
    const why = uploadError instanceof Error ? uploadError.message : String(uploadError ?? status.state)
    if (cancelledByUs) throw fail(`upload broke off: ${why}; the transfer was cancelled on the BMC (an upload is never re-sent blindly)`, uploadError)
    if (status.state === 'error') {
      // The BMC cancels a transfer whose upload connection dropped ("transfer canceled"): say that the
      // upload broke, not that someone cancelled.
      if (uploadError instanceof TpiError && uploadError.code === 'BmcUnreachable') {
        throw fail(`upload broke off: ${why}; the BMC then reported "${status.message}" (an upload is never re-sent blindly)`, uploadError)
      }
      throw fail(`BMC reported "${status.message}" (${advice(status.message)})`, uploadError)
    }
    throw fail(`upload broke off: ${why}; the BMC state is ${status.state}`, uploadError)
  }
}
