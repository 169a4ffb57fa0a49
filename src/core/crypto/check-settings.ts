// Checks on the artifact inputs that must fail before any side effect: a deploy that would flash four
// nodes and then find it cannot encrypt the kubeconfig has wasted twenty minutes.
import type { ConfigIssue } from '../errors.js'
import type { RunSettings } from '../settings.js'
import { normalizeRecipient, recipientProblem } from './age.js'

/** Shorter passphrases are accepted (the user chose them) but warned about: scrypt only slows guessing. */
export const MIN_PASSPHRASE_LENGTH = 12

/**
 * Issues with artifact-recipients and artifact-passphrase. `willUpload` is true when this run may
 * produce credentials (deploy); then having neither a recipient nor a passphrase is an error.
 */
export function checkArtifactSettings(settings: Pick<RunSettings, 'secrets'>, willUpload: boolean): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  const { artifactRecipients: recipients, artifactPassphrase: passphrase } = settings.secrets
  recipients.forEach((recipient, index) => {
    const problem = recipientProblem(recipient)
    if (!problem) return
    const shown = recipient.toUpperCase().includes('AGE-SECRET-KEY') ? 'entry' : `"${recipient}"`
    // A well-formed recipient of a kind this action cannot serve (post-quantum, tag, plugin).
    const lower = normalizeRecipient(recipient).toLowerCase()
    const unsupported = lower.startsWith('age1') && lower.slice(0, lower.lastIndexOf('1')) !== 'age'
    issues.push({
      code: unsupported ? 'UnsupportedArtifactRecipient' : 'InvalidArtifactRecipient',
      path: `artifact-recipients[${index}]`,
      message: `artifact-recipients: ${shown} ${problem}`,
      severity: 'error'
    })
  })
  if (new Set(recipients.map(normalizeRecipient)).size !== recipients.length)
    issues.push({
      code: 'DuplicateArtifactRecipient',
      path: 'artifact-recipients',
      message: 'artifact-recipients: a recipient is listed twice; each key needs to appear once',
      severity: 'warning'
    })
  if (willUpload && recipients.length === 0 && !passphrase)
    issues.push({
      code: 'NoArtifactEncryption',
      path: 'artifact-recipients',
      message:
        'artifact-recipients and artifact-passphrase are both empty, so the kubeconfig/talosconfig could not be encrypted for upload; ' +
        'expected at least one age public key (age1…, from age-keygen) or a passphrase secret',
      severity: 'error'
    })
  if (passphrase && passphrase.length < MIN_PASSPHRASE_LENGTH)
    issues.push({
      code: 'WeakArtifactPassphrase',
      path: 'artifact-passphrase',
      message: `artifact-passphrase is shorter than ${MIN_PASSPHRASE_LENGTH} characters; anyone who downloads the artifact can try to guess it offline`,
      severity: 'warning'
    })
  return issues
}
