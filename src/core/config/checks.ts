// Cross-field rules, one small function each (talhelper style). Each returns issues with the YAML
// path of the field at fault and a message that quotes the value and says what is expected.
import type { ConfigIssue } from '../errors.js'
import { FIELD_CHECKS } from './field-checks.js'
import type { Cluster, NodeSpec } from './model.js'
import {
  cidrContains,
  cidrsOverlap,
  formatIPv4,
  inRange,
  parseCidr,
  parseIPv4,
  parseRange,
  type IpRange
} from './net.js'
import { pathText, type YamlPath } from './positions.js'

export type Finding = { code: string; at: YamlPath; message: string; severity?: ConfigIssue['severity'] }
type Check = (c: Cluster) => Finding[]

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/
const K3S_VERSION = /^v\d+\.\d+\.\d+\+k3s\d+$/
const TALOS_VERSION = /^v\d+\.\d+\.\d+$/
const SHA256 = /^[0-9a-fA-F]{64}$/

const at = (n: NodeSpec, field: string): YamlPath => [...n.path, field]
/** A value quoted for a message: JSON-escaped (a newline shows as \n), cut at 200 characters. */
const q = (value: unknown): string => JSON.stringify(String(value)).slice(0, 200)

export const checkName: Check = (c) =>
  HOSTNAME.test(c.name)
    ? []
    : [
        {
          code: 'InvalidName',
          at: ['name'],
          message: `${q(c.name)} is not a valid cluster name: expected lower-case letters, digits and "-" (RFC 1123 label, at most 63 characters)`
        }
      ]

export const checkBoards: Check = (c) => {
  const out: Finding[] = []
  const names = new Map<string, number>()
  c.boardList.forEach((b, i) => {
    if (names.has(b.name))
      out.push({
        code: 'DuplicateBoard',
        at: ['boards', i, 'name'],
        message: `board name ${q(b.name)} is already used by boards[${names.get(b.name)}]`
      })
    names.set(b.name, i)
    const tls = b.bmc.tls
    const tlsPath = [...b.path, 'tls']
    if (tls.fingerprint !== undefined && !SHA256.test(tls.fingerprint.replace(/:/g, '')))
      out.push({
        code: 'InvalidFingerprint',
        at: [...tlsPath, 'fingerprint'],
        message: `${q(tls.fingerprint)} is not a SHA-256 fingerprint: expected 64 hex digits (colons allowed)`
      })
    if (tls.fingerprint === undefined && !tls.insecure)
      out.push({
        code: 'BmcTrustMissing',
        at: tlsPath.slice(0, -1),
        message:
          'the BMC certificate is self-signed, so pin it: set tls.fingerprint to the output of `openssl s_client -connect <bmc>:443 </dev/null | openssl x509 -noout -fingerprint -sha256`, or set tls.insecure: true'
      })
  })
  return out
}

export const checkSlots: Check = (c) => {
  const out: Finding[] = []
  const seen = new Map<string, NodeSpec>()
  const multi = c.boardList.length > 1
  for (const n of c.nodes) {
    if (multi && !n.board) {
      out.push({
        code: 'BoardRequired',
        at: n.path,
        message: `this cluster has ${c.boardList.length} boards; set board: to one of ${c.boardList.map((b) => b.name).join(', ')}`
      })
      continue
    }
    if (n.board && !c.boardList.some((b) => b.name === n.board))
      out.push({
        code: 'UnknownBoard',
        at: at(n, 'board'),
        message: `board ${q(n.board)} is not defined; expected one of ${c.boardList.map((b) => b.name).join(', ')}`
      })
    if (!Number.isInteger(n.slot) || n.slot < 1 || n.slot > 4) {
      out.push({
        code: 'InvalidSlot',
        at: at(n, 'node'),
        message: `slot ${n.slot} does not exist: a Turing Pi board has slots 1 to 4`
      })
      continue
    }
    const key = `${n.board}/${n.slot}`
    const other = seen.get(key)
    if (other)
      out.push({
        code: 'DuplicateSlot',
        at: at(n, 'node'),
        message: `slot ${n.slot} on board ${n.board} is already used by ${pathText(other.path)}`
      })
    else seen.set(key, n)
  }
  return out
}

export const checkHostnames: Check = (c) => {
  const out: Finding[] = []
  const seen = new Map<string, NodeSpec>()
  for (const n of c.nodes) {
    if (!HOSTNAME.test(n.hostname))
      out.push({
        code: 'InvalidHostname',
        at: at(n, 'hostname'),
        message: `${q(n.hostname)} is not a valid hostname: expected lower-case letters, digits and "-", not starting or ending with "-" (RFC 1123 label)`
      })
    const other = seen.get(n.hostname)
    if (other)
      out.push({
        code: 'DuplicateHostname',
        at: at(n, 'hostname'),
        message: `hostname ${q(n.hostname)} is already used by ${pathText(other.path)}`
      })
    else seen.set(n.hostname, n)
  }
  return out
}

function metallbRange(c: Cluster): IpRange | undefined {
  return c.metallb_ip_range ? parseRange(c.metallb_ip_range).range : undefined
}

export const checkNodeIps: Check = (c) => {
  const out: Finding[] = []
  const seen = new Map<number, NodeSpec>()
  const pool = metallbRange(c)
  const pods = parseCidr(c.pod_cidr)
  const services = parseCidr(c.service_cidr)
  for (const n of c.nodes) {
    const ip = parseIPv4(n.ip)
    if (ip === undefined) {
      out.push({ code: 'InvalidIp', at: at(n, 'ip'), message: `${q(n.ip)} is not a valid IPv4 address` })
      continue
    }
    const other = seen.get(ip)
    if (other)
      out.push({ code: 'DuplicateIp', at: at(n, 'ip'), message: `${n.ip} is already used by ${pathText(other.path)}` })
    seen.set(ip, n)
    if (pool && inRange(pool, ip))
      out.push({
        code: 'IpInMetallbRange',
        at: at(n, 'ip'),
        message: `${n.ip} is inside metallb_ip_range ${c.metallb_ip_range}; MetalLB would hand it out to a service`
      })
    for (const [name, cidr] of [
      ['pod_cidr', pods],
      ['service_cidr', services]
    ] as const)
      if (cidr && cidrContains(cidr, ip))
        out.push({
          code: 'IpInClusterCidr',
          at: at(n, 'ip'),
          message: `${n.ip} is inside ${name} ${c[name]}; node addresses must not overlap cluster networks`
        })
  }
  return out
}

export const checkMetallb: Check = (c) => {
  const out: Finding[] = []
  let pool: IpRange | undefined
  if (c.metallb_ip_range !== undefined) {
    const r = parseRange(c.metallb_ip_range)
    if (r.problem)
      out.push({
        code: 'InvalidMetallbRange',
        at: ['metallb_ip_range'],
        message: `${q(c.metallb_ip_range)} ${r.problem}`
      })
    pool = r.range
  }
  if (c.metallb_ip_range === undefined && c.addons.metallb)
    out.push({
      code: 'MetallbRangeMissing',
      at: ['addons', 'metallb'],
      message: 'addons.metallb needs metallb_ip_range, e.g. 10.10.88.80-10.10.88.89'
    })
  if (c.ingress_ip !== undefined) {
    const ip = parseIPv4(c.ingress_ip)
    if (ip === undefined)
      out.push({ code: 'InvalidIp', at: ['ingress_ip'], message: `${q(c.ingress_ip)} is not a valid IPv4 address` })
    else if (c.metallb_ip_range === undefined)
      out.push({
        code: 'IngressIpWithoutMetallb',
        at: ['ingress_ip'],
        message: 'ingress_ip is handed out by MetalLB: set metallb_ip_range too'
      })
    else if (pool && !inRange(pool, ip))
      out.push({
        code: 'IngressIpOutsideRange',
        at: ['ingress_ip'],
        message: `${c.ingress_ip} is outside metallb_ip_range ${formatIPv4(pool.first)}-${formatIPv4(pool.last)}`
      })
  }
  return out
}

export const checkCidrs: Check = (c) => {
  const out: Finding[] = []
  const pods = parseCidr(c.pod_cidr)
  const services = parseCidr(c.service_cidr)
  if (!pods)
    out.push({
      code: 'InvalidCidr',
      at: ['pod_cidr'],
      message: `${q(c.pod_cidr)} is not a valid CIDR such as 10.244.0.0/16 (host bits must be zero)`
    })
  if (!services)
    out.push({
      code: 'InvalidCidr',
      at: ['service_cidr'],
      message: `${q(c.service_cidr)} is not a valid CIDR such as 10.96.0.0/12 (host bits must be zero)`
    })
  if (pods && services && cidrsOverlap(pods, services))
    out.push({
      code: 'CidrOverlap',
      at: ['service_cidr'],
      message: `service_cidr ${c.service_cidr} overlaps pod_cidr ${c.pod_cidr}; they must be disjoint`
    })
  if (c.kind === 'k3s') {
    const dns = parseIPv4(c.cluster_dns)
    if (dns === undefined)
      out.push({ code: 'InvalidIp', at: ['cluster_dns'], message: `${q(c.cluster_dns)} is not a valid IPv4 address` })
    else if (services && !cidrContains(services, dns))
      out.push({
        code: 'DnsOutsideServiceCidr',
        at: ['cluster_dns'],
        message: `cluster_dns ${c.cluster_dns} is outside service_cidr ${c.service_cidr}`
      })
  }
  return out
}

export const checkVersions: Check = (c) => {
  if (c.kind === 'k3s')
    return K3S_VERSION.test(c.k3s_version)
      ? []
      : [
          {
            code: 'InvalidVersion',
            at: ['k3s_version'],
            message: `${q(c.k3s_version)} is not a K3s release: expected the form v1.31.3+k3s1`
          }
        ]
  return TALOS_VERSION.test(c.talos_version)
    ? []
    : [
        {
          code: 'InvalidVersion',
          at: ['talos_version'],
          message: `${q(c.talos_version)} is not a Talos release: expected the form v1.9.0`
        }
      ]
}

export const checkControlPlanes: Check = (c) => {
  const n = c.nodes.filter((x) => x.role === 'controlplane').length
  return n === 2
    ? [
        {
          code: 'EvenControlPlanes',
          at: ['control_plane'],
          message: 'two control planes make etcd lose quorum when either fails (worse than one): use 1, or 3 for HA'
        }
      ]
    : []
}

export const checkLonghorn: Check = (c) => {
  if (!c.longhorn) return []
  const storage = c.nodes.filter((n) => n.has_nvme).length
  const r = c.longhorn_replicas
  if (r < 1)
    return [
      { code: 'InvalidReplicas', at: ['longhorn_replicas'], message: `longhorn_replicas ${r} must be at least 1` }
    ]
  if (r > storage)
    return [
      {
        code: 'TooManyReplicas',
        at: ['longhorn_replicas'],
        message: `longhorn_replicas ${r} is more than the ${storage} node(s) with storage (has_nvme: true); Longhorn could never place every replica`
      }
    ]
  return []
}

export const checkIngress: Check = (c) => {
  const out: Finding[] = []
  if (c.addons.nginx_ingress && c.addons.traefik)
    out.push({
      code: 'TwoIngresses',
      at: ['addons', 'traefik'],
      message: 'choose one ingress controller: nginx_ingress or traefik (recommended)'
    })
  else if (c.addons.nginx_ingress)
    out.push({
      code: 'NginxRetired',
      severity: 'warning',
      at: ['addons', 'nginx_ingress'],
      message: 'ingress-nginx was retired upstream in March 2026 and gets no more fixes; prefer addons.traefik: true'
    })
  const known = ['metallb', 'nginx_ingress', 'traefik', 'longhorn', 'prometheus', 'portainer_agent']
  for (const key of Object.keys(c.addons.values))
    if (!known.includes(key))
      out.push({
        code: 'UnknownAddon',
        at: ['addons', 'values', key],
        message: `${q(key)} is not an addon; expected one of ${known.join(', ')}`
      })
  return out
}

export const checkTimeouts: Check = (c) =>
  (['flash_timeout', 'boot_timeout', 'cluster_timeout', 'bootstrap_timeout', 'drain_timeout'] as const)
    .filter((k) => !(c[k] > 0))
    .map((k) => ({ code: 'InvalidTimeout', at: [k], message: `${k} ${c[k]} must be a positive number of seconds` }))

export const checkNetwork: Check = (c) => {
  const out: Finding[] = []
  if (c.network.prefix < 1 || c.network.prefix > 32)
    out.push({
      code: 'InvalidPrefix',
      at: ['network', 'prefix'],
      message: `prefix ${c.network.prefix} must be 1 to 32`
    })
  if (c.network.gateway !== undefined && parseIPv4(c.network.gateway) === undefined)
    out.push({
      code: 'InvalidIp',
      at: ['network', 'gateway'],
      message: `${q(c.network.gateway)} is not a valid IPv4 address`
    })
  c.network.dns.forEach((d, i) => {
    if (parseIPv4(d) === undefined)
      out.push({ code: 'InvalidIp', at: ['network', 'dns', i], message: `${q(d)} is not a valid IPv4 address` })
  })
  return out
}

export const checkImage: Check = (c) => {
  const out: Finding[] = []
  if (c.kind === 'k3s') {
    const img = c.armbian_image
    if (img.source === 'local' && !img.path)
      out.push({
        code: 'ImageMissing',
        at: ['armbian_image'],
        message: 'armbian_image with source: local needs path: (a .img or .img.xz file)'
      })
    if (img.source !== 'local' && !img.url && !/^https?:/.test(img.path ?? ''))
      out.push({
        code: 'ImageMissing',
        at: ['armbian_image'],
        message: `armbian_image with source: ${img.source} needs url: (or a URL in path:)`
      })
    if (img.sha256 !== undefined && !SHA256.test(img.sha256))
      out.push({
        code: 'InvalidSha256',
        at: ['armbian_image', 'sha256'],
        message: `${q(img.sha256)} is not a SHA-256 digest: expected 64 hex digits`
      })
  } else {
    if (c.image_source !== 'factory' && !c.image_path)
      out.push({
        code: 'ImageMissing',
        at: ['image_source'],
        message: `image_source: ${c.image_source} needs image_path: (a metal-arm64 raw image ${c.image_source === 'url' ? 'URL' : 'file'})`
      })
    if (c.image_sha256 !== undefined && !SHA256.test(c.image_sha256))
      out.push({
        code: 'InvalidSha256',
        at: ['image_sha256'],
        message: `${q(c.image_sha256)} is not a SHA-256 digest: expected 64 hex digits`
      })
  }
  return out
}

export const CHECKS: Check[] = [
  checkName,
  checkBoards,
  checkSlots,
  checkHostnames,
  checkNodeIps,
  checkMetallb,
  checkCidrs,
  checkVersions,
  checkControlPlanes,
  checkLonghorn,
  checkIngress,
  checkTimeouts,
  checkNetwork,
  checkImage,
  ...FIELD_CHECKS
]

export function runChecks(c: Cluster): Finding[] {
  return CHECKS.flatMap((check) => check(c))
}
