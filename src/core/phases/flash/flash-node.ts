// One node's flash through its BMC. bmcd answers one request at a time (bmc-api.md §8.1), so nothing
// is asked while the upload POST runs: progress comes from the bytes the BMC has taken. Once the POST
// returns (roughly everything is on the eMMC) the status is polled through the CRC read-back to Done.
// A status that is not our transfer (Ready after a BMC restart, another transfer's id) fails at once.
// After any failure the node is left off and the USB routing from before is put back (bmcd skips its
// own cleanup on a USB fault, §8.3). On success the node is off (the BMC powers it off after a flash).
import { stat } from 'node:fs/promises'
import type { Readable } from 'node:stream'
import type { BmcClient, FlashStatus, Slot, UsbState } from '../../../adapters/bmc/types.js'
import { PhaseError, TpiError } from '../../errors.js'
import type { Reporter } from '../../reporter.js'
import type { StepStage } from '../types.js'
import { advice } from './advice.js'
import { ProgressLog } from './progress.js'

export interface FlashJob {
  node: string
  slot: Slot
  bmc: BmcClient
  imagePath: string
  /** Opens the image as an upload body (deps.openFile). */
  openFile: (path: string, chunkBytes: number) => Readable
  /** Where the image came from (URL or path from the cluster file), named when the BMC finds it corrupt. */
  imageSource?: string
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

export const RESUME =
  're-run the workflow; nodes that finished are skipped (set reflash only to replace a working node)'

function describe(s: FlashStatus): string {
  if (s.state === 'ready') return '"Ready"'
  if (s.state === 'transferring') return `Transferring id ${s.id} ("${s.processName}")`
  if (s.state === 'done') return `Done (${s.size} bytes)`
  return `Error "${s.message}"`
}

/** Flashes one slot; the stages are the upload (until the POST returns) and the CRC read-back (until Done). */
export async function flashNode(job: FlashJob): Promise<{ seconds: number; bytes: number; stages: StepStage[] }> {
  const now = job.now ?? Date.now
  const started = now()
  const { size } = await stat(job.imagePath)
  const fileName = job.imagePath.split('/').pop() as string
  const progress = new ProgressLog((l) => job.reporter.info(`${job.node}: ${l}`), job.progressEveryMs)
  const request = {
    slot: job.slot,
    fileName,
    length: size,
    sha256: job.sha256,
    timeoutMs: job.timeoutMs,
    onProgress: (sent: number) => progress.sample({ bytes: sent, total: size, at: now() })
  }
  // The routing to put back after a failure; a BMC that cannot say is not a reason not to flash.
  const usbBefore = await job.bmc.usb?.().catch(() => undefined)
  const fail = async (seen: string, cause?: unknown): Promise<PhaseError> => {
    const left = await leaveNodeOff(job, usbBefore)
    return new PhaseError('flash', job.node, `${seen}${left}`, RESUME, { cause, code: 'FlashFailed' })
  }

  for (let attempt = 1; ; attempt++) {
    const handle = await job.bmc.startFlash(request)
    const uploadStart = now()
    job.reporter.info(`${job.node}: flashing ${fileName} (${(size / 2 ** 20).toFixed(0)} MiB) to slot ${job.slot}`)
    progress.sample({ bytes: 0, total: size, at: now() })
    try {
      await job.bmc.upload(handle, job.openFile(job.imagePath, UPLOAD_READ_BYTES), request)
    } catch (uploadError) {
      const unauthorized = uploadError instanceof TpiError && uploadError.code === 'BmcUnauthorized'
      if (unauthorized && attempt === 1) {
        // Refused before any byte reached the eMMC writer: a fresh start is not a re-POST.
        job.reporter.warn(`${job.node}: upload refused by the BMC session (401); starting the flash once more`)
        continue
      }
      throw await fail(await uploadFailure(job, handle, uploadError), uploadError)
    }
    const uploadEnd = now()
    progress.writeDone(uploadEnd)
    // The POST returned: the data is written. Follow the CRC read-back to Done, polling soon at first
    // (a short read-back is over in a moment), then every pollMs.
    const pollMs = job.pollMs ?? 1000
    let wait = Math.min(100, pollMs)
    for (;;) {
      if (now() - started > job.timeoutMs) {
        await job.bmc.cancelFlash().catch(() => {})
        throw await fail(
          `no Done within flash_timeout ${Math.round(job.timeoutMs / 1000)} s (the CRC read-back did not finish); the flash was cancelled`
        )
      }
      let status: FlashStatus
      try {
        status = await job.bmc.flashStatus()
      } catch (error) {
        throw await fail(`the BMC stopped answering while it verified the flash: ${(error as Error).message}`, error)
      }
      if (status.state === 'transferring' && status.id === handle) {
        progress.sample({ bytes: status.bytesWritten, total: status.size, at: now() })
      } else if (status.state === 'done') {
        // bmcd's Done carries the length announced at start, not what arrived (§8.8): only with the POST's
        // 200 and our length does it mean our bytes are on the eMMC. (A BMC counting decompressed bytes
        // instead would report more than an .xz upload's length; that is tolerated, less is not.)
        const ours = status.size === size || (fileName.endsWith('.xz') && status.size > size)
        if (!ours)
          throw await fail(
            `the BMC reports Done for ${status.size} bytes, but this flash sent ${size}: not this transfer`
          )
        job.reporter.info(`${job.node}: flash done in ${((now() - started) / 1000).toFixed(0)} s`)
        const done = now()
        const stages = [
          { name: 'upload', start: uploadStart, end: uploadEnd },
          { name: 'read-back', start: uploadEnd, end: done }
        ]
        return { seconds: (done - started) / 1000, bytes: size, stages }
      } else if (status.state === 'error') {
        throw await fail(`BMC reported "${status.message}" (${advice(status.message, fileName, job.imageSource)})`)
      } else {
        throw await fail(
          `our transfer (id ${handle}) vanished from the BMC during the CRC read-back: the flash status is ${describe(status)}. ` +
            (status.state === 'ready'
              ? 'The BMC restarted (reload, reboot or power loss) and lost it'
              : 'Someone started another flash on this BMC, which cancels ours') +
            '; nothing is known about what reached the eMMC'
        )
      }
      await job.sleep(wait)
      wait = Math.min(wait * 2, pollMs)
    }
  }
}

/** What the BMC says after a failed upload POST; a transfer still waiting for data is cancelled. */
async function uploadFailure(job: FlashJob, handle: number, uploadError: unknown): Promise<string> {
  const why = uploadError instanceof Error ? uploadError.message : String(uploadError)
  const status = await job.bmc.flashStatus().catch(() => undefined)
  if (status?.state === 'transferring' && status.id === handle) {
    await job.bmc.cancelFlash().catch(() => {})
    return `upload broke off: ${why}; the transfer was cancelled on the BMC (an upload is never re-sent blindly)`
  }
  if (status?.state === 'error') {
    const fileName = job.imagePath.split('/').pop() as string
    // bmcd cancels the transfer itself when the body length differs from the announced one (§8.5).
    const why2 =
      /missing .+ bytes/.test(why) && status.message === 'cancelled by user'
        ? `the BMC received a different number of bytes than the ${fileName} size announced at start, and cancelled (the file changed while it was sent?)`
        : advice(status.message, fileName, job.imageSource)
    return `upload failed: ${why}; the BMC reported "${status.message}" (${why2})`
  }
  return `upload failed: ${why}; the flash status is then ${status ? describe(status) : 'unknown (no answer)'} (an upload is never re-sent blindly)`
}

/**
 * After a failed flash: node off, USB routing as before. bmcd does this itself except after a USB fault
 * (§8.3), and a vanished transfer leaves it undone too, so it is always checked. Returns a sentence for
 * the error message when something could not be put back.
 */
async function leaveNodeOff(job: FlashJob, usbBefore: UsbState | undefined): Promise<string> {
  const problems: string[] = []
  try {
    await job.bmc.setPower(job.slot, false)
  } catch (error) {
    problems.push(`powering slot ${job.slot} off failed (${(error as Error).message})`)
  }
  if (usbBefore && job.bmc.usb && job.bmc.setUsb) {
    try {
      const current = await job.bmc.usb()
      if (current.mode !== usbBefore.mode || current.slot !== usbBefore.slot || current.route !== usbBefore.route) {
        await job.bmc.setUsb(usbBefore)
        job.reporter.info(
          `${job.node}: USB routing restored to ${usbBefore.mode} for slot ${usbBefore.slot} (${usbBefore.route})`
        )
      }
    } catch (error) {
      problems.push(
        `the USB routing from before (${usbBefore.mode}, slot ${usbBefore.slot}, ${usbBefore.route}) could not be restored: ${(error as Error).message}`
      )
    }
  }
  return problems.length ? `. Cleanup incomplete: ${problems.join('; ')}` : `. Slot ${job.slot} was left powered off`
}
