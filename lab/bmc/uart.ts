// One 16 KiB console ring per slot. 2.3.x reads return the whole ring without clearing it; 2.0.x drained.
export const UART_RING_BYTES = 16 * 1024

export class UartRing {
  private buf = Buffer.alloc(0)

  write(text: string | Buffer): void {
    const add = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
    const all = Buffer.concat([this.buf, add])
    this.buf = all.length > UART_RING_BYTES ? Buffer.from(all.subarray(all.length - UART_RING_BYTES)) : all
  }

  /** A restart: the ring lives in bmcd's memory (§8.19). */
  clear(): void {
    this.buf = Buffer.alloc(0)
  }

  contents(): string {
    return this.buf.toString('utf8')
  }

  read(drain: boolean): string {
    const s = this.contents()
    if (drain) this.buf = Buffer.alloc(0)
    return s
  }
}

export const UART_ENCODINGS = ['utf8', 'utf16', 'utf16le', 'utf16be', 'utf32', 'utf32le', 'utf32be']
