// An image file as an upload body. As a plain Readable (any consumer) it reads into fresh Buffers like
// fs.createReadStream. The HTTPS transport instead asks for `reused()`: three buffers read in turn, each
// refilled only after the socket has taken its previous contents (write callback), so a 2 GiB upload
// leaves no trail of spent chunks for the GC: with fresh Buffers V8 lets ~64 MiB of them pile up
// (external memory) before it collects, which is most of the upload's RSS growth.
import { open, type FileHandle } from 'node:fs/promises'
import { Readable } from 'node:stream'

export class FileSource extends Readable {
  private handle?: FileHandle
  private position = 0
  private claimed = false

  constructor(
    readonly path: string,
    readonly chunkBytes = 1 << 20
  ) {
    super({ highWaterMark: chunkBytes })
  }

  private async fh(): Promise<FileHandle> {
    this.handle ??= await open(this.path, 'r')
    return this.handle
  }

  override _read(): void {
    this.fh()
      .then(async (fh) => {
        const buffer = Buffer.allocUnsafe(this.chunkBytes)
        const { bytesRead } = await fh.read(buffer, 0, buffer.length, this.position)
        this.position += bytesRead
        this.push(bytesRead ? buffer.subarray(0, bytesRead) : null)
      })
      .catch((e: unknown) => this.destroy(e as Error))
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const fh = this.handle
    this.handle = undefined
    if (!fh) return callback(error)
    fh.close().then(
      () => callback(error),
      () => callback(error)
    )
  }

  /**
   * The file's contents in order, as views of `count` reused buffers (default 3). Asking for chunk k
   * refills the buffer of chunk k+1-count with chunk k+1 (read ahead), so the caller must be done with
   * chunk k+1-count (e.g. its socket write called back) before it asks for chunk k: with 3 buffers, two
   * writes can be in flight while the next chunk is read. Once only, and not with the stream interface.
   */
  async *reused(count = 3): AsyncGenerator<Buffer> {
    if (this.claimed || this.readableDidRead) throw new Error(`FileSource ${this.path}: already being read`)
    if (count < 2) throw new Error(`FileSource ${this.path}: needs at least 2 buffers, got ${count}`)
    this.claimed = true
    const fh = await this.fh()
    const buffers = Array.from({ length: count }, () => Buffer.allocUnsafe(this.chunkBytes))
    const readInto = async (b: Buffer): Promise<Buffer> => {
      const { bytesRead } = await fh.read(b, 0, b.length, this.position)
      this.position += bytesRead
      return b.subarray(0, bytesRead)
    }
    try {
      let i = 0
      let next = readInto(buffers[0] as Buffer)
      for (;;) {
        const chunk = await next
        if (!chunk.length) return
        i++
        next = readInto(buffers[i % count] as Buffer)
        next.catch(() => undefined) // an abandoned prefetch must not be an unhandled rejection
        yield chunk
      }
    } finally {
      this.destroy()
    }
  }
}
