// SSH key handling through ssh2, for the core (deps.keys): the deploy key's public line (authorised on
// a new Armbian image) and the node's host key (pinned at first contact).
import ssh2 from 'ssh2'
import type { SshKeys } from './types.js'
import { generateVerifiedHostKey } from './verified-host-key.js'

/** "ssh-ed25519 AAAA…" for the deploy key; throws without naming the key's content. */
export function publicKeyLine(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey)
  const key = Array.isArray(parsed) ? parsed[0] : parsed
  if (!key || key instanceof Error)
    throw new Error(`the ssh-private-key input could not be parsed${key instanceof Error ? `: ${key.message}` : ''}`)
  return `${key.type} ${key.getPublicSSH().toString('base64')}`
}

export const sshKeys: SshKeys = {
  publicKeyLine,
  hostKey: (comment, onRetry) => generateVerifiedHostKey(comment, { onRetry })
}
