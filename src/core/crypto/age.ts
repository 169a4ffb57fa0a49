// age encryption of credential files. ASCII-armored so the files can be pasted into a terminal and read
// with `age -d`; X25519 recipients or a passphrase (scrypt). The library refuses both on one Encrypter,
// so a caller that has both encrypts twice (see publish.ts: `<file>.age` and `<file>.passphrase.age`).
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod } from 'node:fs/promises'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { Encrypter, armor } from 'age-encryption'
import { TpiError } from '../errors.js'

/** Either recipients (one file for all of them) or a passphrase; never both in one file. */
export interface EncryptOptions {
  recipients?: string[]
  passphrase?: string
  /** scrypt log2 work factor for passphrases; the library's 18 unless a test lowers it. */
  scryptWorkFactor?: number
}

/**
 * The recipient as the library takes it. Bech32 treats an all-upper-case string as the same key (the
 * age CLI's bech32 decoder does too), so AGE1… is lowered; mixed case is refused (recipientProblem).
 */
export function normalizeRecipient(recipient: string): string {
  const r = recipient.trim()
  return r === r.toUpperCase() ? r.toLowerCase() : r
}

/**
 * Why a recipient string cannot be used, or undefined when it can: parsed by the age library itself
 * (bech32 checksum, key length), so a one-character typo fails here and not after the deploy.
 * Never echoes anything secret.
 */
export function recipientProblem(recipient: string): string | undefined {
  const raw = recipient.trim()
  if (raw.toUpperCase().startsWith('AGE-SECRET-KEY'))
    return 'is an age private key (AGE-SECRET-KEY-…); give the public key (age1…) that age-keygen -y prints, and rotate this key'
  const r = raw.toLowerCase()
  if (!r.startsWith('age1'))
    return 'is not an age recipient: expected an X25519 public key, age1 followed by 58 letters and digits (age-keygen -y prints it)'
  if (raw !== r && raw !== raw.toUpperCase())
    return 'mixes upper- and lower-case letters, which bech32 (and the age CLI) refuse as a typo; copy the key again from age-keygen -y'
  // Bech32: the human-readable part ends at the last "1" (the data alphabet has none).
  const hrp = r.slice(0, r.lastIndexOf('1'))
  if (hrp === 'age1pq')
    return 'is a post-quantum hybrid recipient (age1pq1…), which Debian age 1.1.1 cannot decrypt; use an X25519 key from age-keygen'
  if (hrp === 'age1tag' || hrp === 'age1tagpq')
    return `is a tag recipient (${hrp}1…) for a hardware key, which needs an age plugin to decrypt and which Debian age 1.1.1 cannot read; use an X25519 key from age-keygen`
  if (hrp !== 'age')
    return `is a plugin recipient (age-plugin-${hrp.slice('age1'.length)}): encryption to it needs that plugin, which the action does not run; add an X25519 key from age-keygen instead (keep the hardware key for your own copy)`
  try {
    new Encrypter().addRecipient(r)
  } catch {
    return 'is not a valid age X25519 public key: its checksum or length is wrong (a typo or a truncated copy?); copy it again from age-keygen -y'
  }
  return undefined
}

function makeEncrypter(options: EncryptOptions): Encrypter {
  const recipients = options.recipients ?? []
  const passphrase = options.passphrase ?? ''
  if (recipients.length && passphrase)
    throw new TpiError('AgeMode', 'age encryption: recipients and a passphrase were both given; encrypt once per mode')
  if (!recipients.length && !passphrase)
    throw new TpiError('AgeMode', 'age encryption: no recipient and no passphrase; expected at least one of them')
  const encrypter = new Encrypter()
  if (passphrase) {
    encrypter.setPassphrase(passphrase)
    if (options.scryptWorkFactor !== undefined) encrypter.setScryptWorkFactor(options.scryptWorkFactor)
  }
  for (const recipient of recipients) {
    const problem = recipientProblem(recipient)
    // A private key passed by mistake must not end up in the message.
    if (problem)
      throw new TpiError(
        'AgeRecipient',
        `age recipient ${recipient.toUpperCase().includes('AGE-SECRET-KEY') ? '(hidden)' : `"${recipient}"`} ${problem}`
      )
    encrypter.addRecipient(normalizeRecipient(recipient))
  }
  return encrypter
}

/** Encrypts in memory and returns the ASCII-armored file (PEM-like, ends with a newline). */
export async function encryptArmored(plaintext: string | Uint8Array, options: EncryptOptions): Promise<string> {
  const encrypter = makeEncrypter(options)
  return armor.encode(await encrypter.encrypt(plaintext))
}

const LINE_BYTES = 48 // 48 bytes → one 64-column base64 line, as age's armor requires

/** Streams binary age output into armor lines without holding the whole file. */
class ArmorEncoder extends Transform {
  private pending = Buffer.alloc(0)
  constructor() {
    super()
    this.push('-----BEGIN AGE ENCRYPTED FILE-----\n')
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
    const whole = data.length - (data.length % LINE_BYTES)
    const lines: string[] = []
    for (let i = 0; i < whole; i += LINE_BYTES) lines.push(data.subarray(i, i + LINE_BYTES).toString('base64'))
    this.pending = Buffer.from(data.subarray(whole))
    if (lines.length) this.push(lines.join('\n') + '\n')
    done()
  }
  override _flush(done: TransformCallback): void {
    if (this.pending.length) this.push(this.pending.toString('base64') + '\n')
    this.push('-----END AGE ENCRYPTED FILE-----\n')
    done()
  }
}

/**
 * Encrypts a file of any size to `dest` as an armored age file with mode 0600, streaming both ways.
 * Returns the ciphertext size in bytes.
 */
export async function encryptFileArmored(source: string, dest: string, options: EncryptOptions): Promise<number> {
  const encrypter = makeEncrypter(options)
  const input = Readable.toWeb(createReadStream(source)) as unknown as ReadableStream<Uint8Array>
  const encrypted = await encrypter.encrypt(input)
  const out = createWriteStream(dest, { mode: 0o600 })
  await pipeline(Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>), new ArmorEncoder(), out)
  // mode only applies when the file is created; an existing file keeps its bits otherwise.
  await chmod(dest, 0o600)
  return out.bytesWritten
}
