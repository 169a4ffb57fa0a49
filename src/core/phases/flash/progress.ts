// Flash progress lines at a readable rate: one every `everyMs` (default 10 s) or each 25 %, with MB/s
// over the last interval and an ETA. bytes_written counts decompressed bytes and restarts at 0 for the
// CRC verify pass, so a drop is reported as the verify stage rather than as negative speed. The upload's
// end is also said outright (writeDone): a read-back that is fast, or a poll that comes late, may never
// show the drop.
export interface ProgressSample {
  bytes: number
  total: number
  at: number
}

export class ProgressLog {
  private last?: ProgressSample
  private lastLine = -Infinity
  private lastQuarter = -1
  private verifying = false

  constructor(
    private readonly log: (line: string) => void,
    private readonly everyMs = 10_000
  ) {}

  /** The upload POST returned: every byte is written and the BMC reads them back. */
  writeDone(at: number): void {
    if (this.verifying) return
    this.verifying = true
    this.lastQuarter = -1
    this.log('writing done; verifying (CRC read-back)')
    // The verify pass counts from 0 again: measure its rate from there, not against the write's total.
    this.last = { bytes: 0, total: this.last?.total ?? 0, at: this.last?.at ?? at }
    this.lastLine = this.last.at
  }

  sample(s: ProgressSample): void {
    if (this.last && s.bytes < this.last.bytes && !this.verifying) this.writeDone(s.at)
    const pct = s.total > 0 ? Math.min(100, (s.bytes / s.total) * 100) : 0
    const quarter = Math.floor(pct / 25)
    const due = s.at - this.lastLine >= this.everyMs || quarter > this.lastQuarter
    if (due && this.last && s.at > this.last.at) {
      const rate = (s.bytes - this.last.bytes) / ((s.at - this.lastLine) / 1000 || 1)
      const mbs = Math.max(0, rate) / 1e6
      const eta = rate > 0 && s.total > s.bytes ? `${Math.ceil((s.total - s.bytes) / rate)} s` : '-'
      this.log(
        `${this.verifying ? 'verify' : 'write'} ${pct.toFixed(0)}% (${(s.bytes / 2 ** 20).toFixed(0)}/${(s.total / 2 ** 20).toFixed(0)} MiB), ${mbs.toFixed(1)} MB/s, ETA ${eta}`
      )
    }
    if (due || !this.last) {
      this.lastLine = s.at
      this.lastQuarter = quarter
      this.last = s
    }
  }
}
