// `talosctl validate --mode metal` in the lab: the checks a Talos 1.9 machine config fails on most
// often, with messages in Talos's style ("N errors occurred:" then "\t* ..." lines).
import { splitConfig } from './docs.mjs'

const KNOWN_TOP = new Set(['version', 'debug', 'persist', 'machine', 'cluster'])
const KNOWN_KINDS = new Set([
  'HostnameConfig',
  'UserVolumeConfig',
  'ExtensionServiceConfig',
  'KmsgLogConfig',
  'VolumeConfig',
  'NetworkDefaultActionConfig',
  'NetworkRuleConfig',
  'SideroLinkConfig',
  'EventSinkConfig',
  'WatchdogTimerConfig',
  'TrustedRootsConfig',
  'LinkAliasConfig',
  'Layer2VIPConfig',
  'ResolverConfig',
  'TimeSyncConfig'
])
const HOST = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/

export function validateConfig(text, mode) {
  const errors = []
  let parsed
  try {
    parsed = splitConfig(text)
  } catch (e) {
    return [`failed to parse config: ${e.message}`]
  }
  const { main, typed } = parsed
  if (!main) return ['the v1alpha1 document (version: v1alpha1) is missing']
  for (const k of Object.keys(main)) if (!KNOWN_TOP.has(k)) errors.push(`unknown keys found during decoding:\n${k}`)
  if (main.version !== 'v1alpha1') errors.push(`unsupported config version "${main.version}"`)
  const m = main.machine ?? {}
  if (!['controlplane', 'worker', 'init'].includes(m.type)) errors.push(`machine type "${m.type}" is not valid`)
  if (mode === 'metal' && !m.install?.disk && !m.install?.diskSelector)
    errors.push('an install disk or disk selector is required in "metal" mode')
  if (
    m.install?.image !== undefined &&
    !/^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?(@sha256:[a-f0-9]{64})?$/.test(m.install.image)
  )
    errors.push(`invalid install image: "${m.install.image}"`)
  const hostname = m.network?.hostname ?? typed.find((d) => d.kind === 'HostnameConfig')?.hostname
  if (hostname !== undefined && !HOST.test(hostname)) errors.push(`invalid hostname "${hostname}"`)
  if (m.network?.hostname !== undefined && typed.some((d) => d.kind === 'HostnameConfig'))
    errors.push('static hostname is already set in v1alpha1 config')
  for (const i of m.network?.interfaces ?? []) {
    for (const a of i.addresses ?? [])
      if (!CIDR.test(a)) errors.push(`[networking.os.device.addresses] "${a}": invalid CIDR address`)
    if (!i.interface && !i.deviceSelector)
      errors.push(
        '[networking.os.device.interface], [networking.os.device.deviceSelector]: required either config section to be set'
      )
  }
  const c = main.cluster ?? {}
  let endpoint
  try {
    endpoint = new URL(c.controlPlane?.endpoint ?? '')
  } catch {
    endpoint = undefined
  }
  if (!endpoint || endpoint.protocol !== 'https:')
    errors.push(`invalid controlplane endpoint: "${c.controlPlane?.endpoint ?? ''}"`)
  for (const s of [...(c.network?.podSubnets ?? []), ...(c.network?.serviceSubnets ?? [])])
    if (!CIDR.test(s)) errors.push(`invalid CIDR "${s}"`)
  for (const d of typed) if (!KNOWN_KINDS.has(d.kind)) errors.push(`unknown document kind "${d.kind}"`)
  return errors
}
