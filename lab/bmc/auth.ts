// bmcd's authentication: in-memory session tokens renewed on each use, HTTP Basic on any request, and
// per-IP bans shared by login, Bearer and Basic (unknown tokens count as failures too).
import { randomBytes } from 'node:crypto'

export const REALM = 'Access to Baseboard Management Controller'

export interface AuthOptions {
  username: string
  password: string
  ttlMs: number
  banThreshold: number
  banBaseMs: number
  loopbackExempt: boolean
}

export interface AuthReply {
  status: number
  headers: Record<string, string>
  body: string
}

// Rust's Debug form of a Duration ("60s", "1.5s"), which bmcd puts into its messages.
export function rustDuration(ms: number): string {
  const s = Math.max(0, ms) / 1000
  return `${Number.isInteger(s) ? s : Number(s.toFixed(3))}s`
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
function newToken(): string {
  return [...randomBytes(64)].map((b) => ALNUM[b % ALNUM.length]).join('')
}

const plain = (status: number, body: string, headers: Record<string, string> = {}): AuthReply => ({
  status,
  headers,
  body
})

export class AuthService {
  private readonly tokens = new Map<string, number>() // token → last successful use (ms)
  private readonly bans = new Map<string, { fails: number; until: number }>()

  constructor(private readonly o: AuthOptions) {}

  get liveTokens(): number {
    return this.tokens.size
  }

  /** Every token is gone, as after reload, reboot or a restart. */
  wipe(): void {
    this.tokens.clear()
  }

  /** A restart: tokens and bans live in memory only (§8.19). */
  restart(): void {
    this.tokens.clear()
    this.bans.clear()
  }

  /** Makes every live token count as expired now (fault injection). */
  expireAll(): void {
    const past = Date.now() - this.o.ttlMs - 1
    for (const t of this.tokens.keys()) this.tokens.set(t, past)
  }

  private banRemaining(ip: string): number {
    const b = this.bans.get(ip)
    return b && b.until > Date.now() ? b.until - Date.now() : 0
  }

  private banned(ip: string): AuthReply | undefined {
    const left = this.banRemaining(ip)
    return left > 0
      ? plain(403, `Exceeded allowed authentication attempts. Access blocked for ${rustDuration(left)}`)
      : undefined
  }

  /** Counts a failure; the failure that starts a ban is already answered with the ban text (§8.13). */
  private fail(ip: string, reply: AuthReply): AuthReply {
    const b = this.bans.get(ip) ?? { fails: 0, until: 0 }
    b.fails++
    if (b.fails >= this.o.banThreshold) {
      // 5th failure: base; each later one doubles, capped at 2^10 × base.
      b.until = Date.now() + this.o.banBaseMs * 2 ** Math.min(b.fails - this.o.banThreshold, 10)
    }
    this.bans.set(ip, b)
    return this.banned(ip) ?? reply
  }

  private succeed(ip: string): void {
    this.bans.delete(ip)
  }

  private credentialsOk(username: unknown, password: unknown): boolean {
    return username === this.o.username && password === this.o.password
  }

  private isLoopback(ip: string): boolean {
    return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1'
  }

  login(ip: string, body: string): AuthReply {
    let creds: { username?: unknown; password?: unknown }
    try {
      const parsed: unknown = JSON.parse(body)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('invalid type: expected struct Credentials')
      creds = parsed as typeof creds
      if (typeof creds.username !== 'string') throw new Error('missing field `username`')
      if (typeof creds.password !== 'string') throw new Error('missing field `password`')
    } catch (e) {
      // Unparsable credentials are refused before the ban patrol: neither counted nor checked (§8.13).
      return plain(403, `error trying to parse credentials: ${(e as Error).message}`)
    }
    const ban = this.banned(ip)
    if (ban) return ban
    const now = Date.now()
    for (const [t, last] of this.tokens) if (now - last > this.o.ttlMs) this.tokens.delete(t)
    if (!this.credentialsOk(creds.username, creds.password)) return this.fail(ip, plain(403, 'credentials incorrect'))
    this.succeed(ip)
    const id = newToken()
    this.tokens.set(id, now)
    const session = { id, name: 'User Session', description: 'User Session', username: creds.username }
    return { status: 200, headers: { 'X-Auth-Token': id }, body: JSON.stringify(session) }
  }

  /** The loopback exemption applies to this peer. */
  exempt(ip: string): boolean {
    return this.o.loopbackExempt && this.isLoopback(ip)
  }

  /** undefined = authorised; otherwise the reply to send. */
  check(ip: string, authorization: string | undefined): AuthReply | undefined {
    if (this.o.loopbackExempt && this.isLoopback(ip)) return undefined
    const ban = this.banned(ip)
    if (ban) return ban
    if (!authorization)
      return plain(401, 'no authorization header provided', { 'WWW-Authenticate': `Basic realm="${REALM}"` })
    const space = authorization.indexOf(' ')
    const scheme = space < 0 ? authorization : authorization.slice(0, space)
    const value = space < 0 ? '' : authorization.slice(space + 1).trim()
    if (scheme === 'Bearer') return this.checkBearer(ip, value)
    if (scheme === 'Basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon >= 0 && this.credentialsOk(decoded.slice(0, colon), decoded.slice(colon + 1))) {
        this.succeed(ip)
        return undefined
      }
      return this.fail(ip, plain(401, 'credentials incorrect', { 'WWW-Authenticate': `Basic realm="${REALM}"` }))
    }
    return plain(401, `${scheme} authentication not supported`, { 'WWW-Authenticate': `realm="${REALM}"` })
  }

  private checkBearer(ip: string, token: string): AuthReply | undefined {
    const bearer = (msg: string): AuthReply =>
      plain(401, msg, {
        'WWW-Authenticate': `Bearer realm="${REALM}" error="invalid_token" error_description="${msg}"`
      })
    const last = this.tokens.get(token)
    if (last === undefined) return this.fail(ip, bearer(`token ${token} is not registered`))
    const age = Date.now() - last
    if (age > this.o.ttlMs) {
      this.tokens.delete(token)
      return bearer(`token expired ${rustDuration(age - this.o.ttlMs)} ago`)
    }
    this.tokens.set(token, Date.now()) // the lifetime renews on each use
    this.succeed(ip)
    return undefined
  }
}
