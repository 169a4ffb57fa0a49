// The Engine.checkSettings hook: every settings check that must pass before a side effect, at once.
import type { Cluster } from '../config/model.js'
import { checkArtifactSettings } from '../crypto/check-settings.js'
import type { ConfigIssue } from '../errors.js'
import type { RunSettings } from '../settings.js'
import { checkImageDigests } from '../tools/image-trust.js'
import { kindOf } from '../kinds/index.js'
import { checkRedeploy } from './check.js'

/** Phases after which a deploy has credentials to upload (k3s server install, Talos bootstrap). */
const CREDENTIAL_PHASES = ['install', 'join']

export function checkRunSettings(cluster: Cluster, settings: RunSettings): ConfigIssue[] {
  // A restore publishes the kubeconfig again (the restored datastore brings the backup's CA back).
  const willUpload =
    settings.command === 'restore' ||
    (settings.command === 'deploy' &&
      (!settings.phases?.length || settings.phases.some((p) => CREDENTIAL_PHASES.includes(p))))
  return [
    ...checkRedeploy(cluster, settings),
    ...checkArtifactSettings(settings, willUpload),
    ...checkImageDigests(cluster, settings),
    ...(kindOf(cluster).checkSettings?.(cluster, settings) ?? [])
  ]
}
