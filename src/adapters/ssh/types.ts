// A remote shell on a node. Every result is filled (stdout, stderr, exit code) even on failure.
import type { Readable } from 'node:stream'

export interface ExecResult {
  stdout: string
  stderr: string
  code: number
}

export interface ExecOptions {
  /** Fed to the command's stdin; the way to pass secrets (never on the command line). */
  stdin?: string | Buffer
  timeoutMs?: number
}

export interface RemoteShell {
  /** Runs a shell script with `set -eu` semantics left to the caller's script. */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>
  put(path: string, data: Buffer | string | Readable, options: { mode: number; owner?: string }): Promise<void>
  get(path: string): Promise<Buffer>
  close(): Promise<void>
}

export interface SshTarget {
  /** Node name for messages. */
  node: string
  host: string
  port: number
  user: string
  privateKey: string
  /** Expected host key fingerprint (SHA256:base64, as ssh-keygen -lf prints). Unset: first contact. */
  hostKeyFingerprint?: string
  connectTimeoutMs?: number
}

export interface SshConnector {
  /** Connects and checks the host key; returns the shell and the host key fingerprint it saw. */
  connect(target: SshTarget): Promise<{ shell: RemoteShell; hostKeyFingerprint: string }>
  /** Reads the SSH banner, or undefined when nothing answers within timeoutMs. */
  probe(host: string, port: number, timeoutMs: number): Promise<string | undefined>
}

export interface HostKey {
  /** OpenSSH private key (never logged, written 0600 into the image only). */
  privateKey: string
  /** "ssh-ed25519 AAAA… comment" */
  publicKey: string
  /** SHA256:<base64 without padding>, as ssh-keygen -lf prints. */
  fingerprint: string
}

/** SSH key handling the core needs without an SSH library of its own. */
export interface SshKeys {
  /** "<type> <base64>" of the deploy key's public half; throws without quoting the key. */
  publicKeyLine(privateKey: string): string
  /** A fresh ed25519 host key the SSH library parses back; onRetry hears about each refused one. */
  hostKey(comment: string, onRetry?: (attempt: number, problem: string) => void): HostKey
}
