// What a node needs, decided from what was observed on it: pure, so the plan, the run and the tests
// agree. An unchanged node is not touched; a config or token change restarts only that node.
import type { NodeSpec } from '../../config/model.js'

export interface NodeFacts {
  version: string
  config_sha: string
  token_sha: string
  images: string
  unit: string
  server_token: string
  /** "<config_sha> <token_sha>" k3s was last (re)started with by this action; none on nodes set up before it was recorded. */
  started_with: string
}

export interface NodeDecision {
  pushBinary: boolean
  pushImages: boolean
  writeConfig: boolean
  writeToken: boolean
  /** Run install.sh (fresh node or another k3s version). */
  install: boolean
  /** Restart the unit (config, token or images changed on an installed node, or it is not running). */
  restart: boolean
  /** A node with no k3s at all that is not the first server: a reflashed node must be forgotten first. */
  forgetFirst: boolean
  reasons: string[]
}

export function factsFrom(raw: Record<string, string>): NodeFacts {
  return {
    version: raw.version ?? 'none',
    config_sha: raw.config_sha ?? 'none',
    token_sha: raw.token_sha ?? 'none',
    images: raw.images ?? 'none',
    unit: raw.unit ?? 'absent',
    server_token: raw.server_token ?? 'absent',
    started_with: raw.started_with ?? 'none'
  }
}

/**
 * Files an earlier run wrote without the restart that should have followed (its connection dropped):
 * k3s still runs with what it started with, so the files matching the cluster file is not enough.
 */
export const filesNotLoaded = (facts: NodeFacts): boolean =>
  facts.started_with !== 'none' && facts.started_with !== `${facts.config_sha} ${facts.token_sha}`

export function decide(input: {
  node: NodeSpec
  isFirst: boolean
  facts: NodeFacts
  version: string
  configSha: string
  /** sha256 of the token file wanted on the node; undefined leaves the node's token file alone. */
  tokenSha?: string
}): NodeDecision {
  const { facts, version } = input
  const reasons: string[] = []
  const pushBinary = facts.version !== version
  if (pushBinary)
    reasons.push(facts.version === 'none' ? 'k3s not installed' : `k3s ${facts.version} installed, ${version} wanted`)
  const pushImages = facts.images !== version
  if (pushImages && !pushBinary) reasons.push(`air-gap images of ${facts.images} present, ${version} wanted`)
  const writeConfig = facts.config_sha !== input.configSha
  if (writeConfig) reasons.push(facts.config_sha === 'none' ? 'no config.yaml' : 'config.yaml differs')
  const writeToken = input.tokenSha !== undefined && facts.token_sha !== input.tokenSha
  if (writeToken) reasons.push(facts.token_sha === 'none' ? 'no token file' : 'token file differs')
  const install = pushBinary || facts.unit === 'absent'
  if (facts.unit === 'absent' && !pushBinary) reasons.push('k3s unit missing')
  const notRunning = !install && facts.unit !== 'active'
  if (notRunning) reasons.push(`unit ${facts.unit}`)
  const notLoaded = !install && filesNotLoaded(facts)
  if (notLoaded && !writeConfig && !writeToken) reasons.push('config.yaml or token file changed since k3s started')
  const restart = !install && (writeConfig || writeToken || pushImages || notRunning || notLoaded)
  return {
    pushBinary,
    pushImages,
    writeConfig,
    writeToken,
    install,
    restart,
    forgetFirst: !input.isFirst && facts.version === 'none',
    reasons
  }
}

export function untouched(d: NodeDecision): boolean {
  return !d.install && !d.restart && !d.writeConfig && !d.writeToken && !d.pushBinary && !d.pushImages
}
