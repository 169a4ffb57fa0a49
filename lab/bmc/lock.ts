// bmcd's auth middleware holds one mutex while the handler runs (§8.1), so the BMC serves its API one
// request at a time: a poll sent during a multi-minute upload POST is answered only after that POST.
export class RequestLock {
  private held = false
  private readonly waiting: (() => void)[] = []
  /** Requests that arrived while another was being handled (had to wait, as on a real BMC). */
  contended = 0

  /** Resolves with a release function once every earlier holder has released (FIFO, like tokio's Mutex). */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = (): void => {
        this.held = true
        let released = false
        resolve(() => {
          if (released) return
          released = true
          this.held = false
          this.waiting.shift()?.()
        })
      }
      if (this.held) {
        this.contended++
        this.waiting.push(grant)
      } else grant()
    })
  }

  get queued(): number {
    return this.waiting.length
  }

  get busy(): boolean {
    return this.held
  }
}
