import { describe, expect, it } from '@jest/globals'
import { parseCluster } from '../../../src/core/config/load.js'
import { BASE_K3S, BASE_TALOS, withLine } from './base.js'

interface Case {
  rule: string
  text: string
  code: string
  path: string
  message: string | RegExp
  line: number
  column: number
  severity?: 'error' | 'warning'
}

const W1 = '  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true }'
const cases: Case[] = [
  {
    rule: 'slots stay within 1..4',
    text: withLine(BASE_K3S, W1, '  - { node: 5, ip: 10.10.88.74, hostname: w1, has_nvme: true }'),
    code: 'InvalidSlot',
    path: 'workers[0].node',
    message: 'slot 5 does not exist: a Turing Pi board has slots 1 to 4',
    line: 9,
    column: 7
  },
  {
    rule: 'slots are unique per board',
    text: withLine(BASE_K3S, W1, '  - { node: 1, ip: 10.10.88.74, hostname: w1, has_nvme: true }'),
    code: 'DuplicateSlot',
    path: 'workers[0].node',
    message: 'slot 1 on board default is already used by control_plane',
    line: 9,
    column: 7
  },
  {
    rule: 'hostnames are RFC 1123 labels',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.74, hostname: W_1, has_nvme: true }'),
    code: 'InvalidHostname',
    path: 'workers[0].hostname',
    message: /"W_1" is not a valid hostname/,
    line: 9,
    column: 33
  },
  {
    rule: 'hostnames are unique',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.74, hostname: cp, has_nvme: true }'),
    code: 'DuplicateHostname',
    path: 'workers[0].hostname',
    message: 'hostname "cp" is already used by control_plane',
    line: 9,
    column: 33
  },
  {
    rule: 'node IPs are valid',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.300, hostname: w1, has_nvme: true }'),
    code: 'InvalidIp',
    path: 'workers[0].ip',
    message: '"10.10.88.300" is not a valid IPv4 address',
    line: 9,
    column: 16
  },
  {
    rule: 'node IPs are unique',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.73, hostname: w1, has_nvme: true }'),
    code: 'DuplicateIp',
    path: 'workers[0].ip',
    message: '10.10.88.73 is already used by control_plane',
    line: 9,
    column: 16
  },
  {
    rule: 'node IPs stay outside the MetalLB range',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.85, hostname: w1, has_nvme: true }'),
    code: 'IpInMetallbRange',
    path: 'workers[0].ip',
    message: /10.10.88.85 is inside metallb_ip_range 10.10.88.80-10.10.88.89/,
    line: 9,
    column: 16
  },
  {
    rule: 'the MetalLB range is well-formed',
    text: withLine(BASE_K3S, 'metallb_ip_range', 'metallb_ip_range: 10.10.88.80'),
    code: 'InvalidMetallbRange',
    path: 'metallb_ip_range',
    message: '"10.10.88.80" is not of the form first-last, e.g. 10.10.88.80-10.10.88.89',
    line: 11,
    column: 1
  },
  {
    rule: 'the MetalLB range is ordered',
    text: withLine(BASE_K3S, 'metallb_ip_range', 'metallb_ip_range: 10.10.88.89-10.10.88.80'),
    code: 'InvalidMetallbRange',
    path: 'metallb_ip_range',
    message: '"10.10.88.89-10.10.88.80" starts after it ends',
    line: 11,
    column: 1
  },
  {
    rule: 'ingress_ip lies inside the MetalLB range',
    text: BASE_K3S + 'ingress_ip: 10.10.88.90\n',
    code: 'IngressIpOutsideRange',
    path: 'ingress_ip',
    message: '10.10.88.90 is outside metallb_ip_range 10.10.88.80-10.10.88.89',
    line: 12,
    column: 1
  },
  {
    rule: 'pod and service CIDRs are valid',
    text: BASE_K3S + 'pod_cidr: 10.244.0.1/16\n',
    code: 'InvalidCidr',
    path: 'pod_cidr',
    message: /"10.244.0.1\/16" is not a valid CIDR/,
    line: 12,
    column: 1
  },
  {
    rule: 'pod and service CIDRs are disjoint',
    text: BASE_K3S + 'pod_cidr: 10.96.0.0/16\n',
    code: 'CidrOverlap',
    path: 'service_cidr',
    message: 'service_cidr 10.96.0.0/12 overlaps pod_cidr 10.96.0.0/16; they must be disjoint',
    line: 1,
    column: 1
  },
  {
    rule: 'cluster_dns lies inside service_cidr',
    text: BASE_K3S + 'cluster_dns: 10.43.0.10\n',
    code: 'DnsOutsideServiceCidr',
    path: 'cluster_dns',
    message: 'cluster_dns 10.43.0.10 is outside service_cidr 10.96.0.0/12',
    line: 12,
    column: 1
  },
  {
    rule: 'k3s versions are well-formed',
    text: BASE_K3S + 'k3s_version: 1.31.3\n',
    code: 'InvalidVersion',
    path: 'k3s_version',
    message: '"1.31.3" is not a K3s release: expected the form v1.31.3+k3s1',
    line: 12,
    column: 1
  },
  {
    rule: 'Talos versions are well-formed',
    text: BASE_TALOS + 'talos_version: v1.9\n',
    code: 'InvalidVersion',
    path: 'talos_version',
    message: '"v1.9" is not a Talos release: expected the form v1.9.0',
    line: 9,
    column: 1
  },
  {
    rule: 'longhorn replicas do not exceed nodes with storage',
    text: BASE_K3S + 'longhorn_enabled: true\nlonghorn_replicas: 3\n',
    code: 'TooManyReplicas',
    path: 'longhorn_replicas',
    message: /longhorn_replicas 3 is more than the 2 node\(s\) with storage/,
    line: 13,
    column: 1
  },
  {
    rule: 'NPU options on Talos are refused with the reason',
    text: BASE_TALOS + 'npu_config: { install_rknn: true }\n',
    code: 'NpuOnTalos',
    path: 'npu_config',
    message: /RKNPU driver.*mainline kernel.*kind: k3s/,
    line: 9,
    column: 1
  },
  {
    rule: 'the plan NPU shorthand on Talos is refused too',
    text: BASE_TALOS + 'install_rknn: true\n',
    code: 'NpuOnTalos',
    path: 'install_rknn',
    message: /^install_rknn: the RK3588 NPU needs/,
    line: 9,
    column: 1
  },
  {
    rule: 'unknown keys suggest the closest known key',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.74, hostnme: w1, hostname: w1 }'),
    code: 'UnknownKey',
    path: 'workers[0].hostnme',
    message: 'unknown key "hostnme" in workers[0]; did you mean "hostname"?',
    line: 9,
    column: 33
  },
  {
    rule: 'unknown top-level keys suggest too',
    text: BASE_K3S + 'flannel_backnd: vxlan\n',
    code: 'UnknownKey',
    path: 'flannel_backnd',
    message: 'unknown key "flannel_backnd" at the top level; did you mean "flannel_backend"?',
    line: 12,
    column: 1
  },
  {
    rule: 'Talos fields in a K3s file name the kind',
    text: BASE_K3S + 'talos_version: v1.9.0\n',
    code: 'WrongKindField',
    path: 'talos_version',
    message: 'talos_version is a Talos field; this file is kind: k3s',
    line: 12,
    column: 1
  },
  {
    rule: 'types are checked with what was found',
    text: BASE_K3S + 'longhorn_replicas: two\n',
    code: 'InvalidType',
    path: 'longhorn_replicas',
    message: 'expected number, found string "two"',
    line: 12,
    column: 20
  },
  {
    rule: 'required fields are named',
    text: BASE_K3S.replace('name: lab\n', ''),
    code: 'MissingField',
    path: 'name',
    message: 'name is required (expected string)',
    line: 1,
    column: 1
  },
  {
    rule: 'enums list the allowed values',
    text: BASE_K3S + 'flannel_backend: geneve\n',
    code: 'InvalidValue',
    path: 'flannel_backend',
    message: 'expected one of "vxlan", "host-gw", "wireguard-native", "none", found string "geneve"',
    line: 12,
    column: 18
  },
  {
    rule: 'the kind is k3s or talos',
    text: BASE_K3S.replace('kind: k3s', 'kind: k8s'),
    code: 'InvalidKind',
    path: 'kind',
    message: 'kind must be "k3s" (K3s on Armbian) or "talos", found string "k8s"',
    line: 1,
    column: 7
  },
  {
    rule: 'two control planes are refused (etcd quorum)',
    text: withLine(
      BASE_K3S,
      'control_plane:',
      'control_plane: [{ node: 1, ip: 10.10.88.73, hostname: cp }, { node: 4, ip: 10.10.88.76, hostname: cp2 }]'
    ),
    code: 'EvenControlPlanes',
    path: 'control_plane',
    message: /two control planes make etcd lose quorum/,
    line: 7,
    column: 1
  },
  {
    rule: 'the BMC certificate must be pinned or explicitly insecure',
    text: withLine(BASE_K3S, '  tls:', '  tls: {}'),
    code: 'BmcTrustMissing',
    path: 'bmc',
    message: /openssl s_client/,
    line: 3,
    column: 1
  },
  {
    rule: 'fingerprints are 64 hex digits',
    text: withLine(BASE_K3S, '  tls:', '  tls: { fingerprint: "abc" }'),
    code: 'InvalidFingerprint',
    path: 'bmc.tls.fingerprint',
    message: '"abc" is not a SHA-256 fingerprint: expected 64 hex digits (colons allowed)',
    line: 5,
    column: 10
  },
  {
    rule: 'several boards require each node to name its board',
    text: withLine(
      BASE_K3S,
      'bmc:',
      'boards:\n  - { name: a, bmc: { tls: { insecure: true } } }\n  - { name: b, bmc: { tls: { insecure: true } } }\nold:'
    ).replace(/old:\n  endpoint: .*\n  tls: .*\n/, ''),
    code: 'BoardRequired',
    path: 'control_plane',
    message: 'this cluster has 2 boards; set board: to one of a, b',
    line: 7,
    column: 1
  },
  {
    rule: 'a node names an existing board',
    text: withLine(BASE_K3S, W1, '  - { node: 2, ip: 10.10.88.74, hostname: w1, board: rack-z }'),
    code: 'UnknownBoard',
    path: 'workers[0].board',
    message: 'board "rack-z" is not defined; expected one of default',
    line: 9,
    column: 47
  },
  {
    rule: 'nginx and traefik are exclusive',
    text: BASE_K3S + 'addons: { nginx_ingress: true, traefik: true }\n',
    code: 'TwoIngresses',
    path: 'addons.traefik',
    message: 'choose one ingress controller: nginx_ingress or traefik (recommended)',
    line: 12,
    column: 32
  },
  {
    rule: 'ingress-nginx gets a retirement warning',
    text: BASE_K3S + 'addons: { nginx_ingress: true }\n',
    code: 'NginxRetired',
    path: 'addons.nginx_ingress',
    message: /retired upstream in March 2026/,
    line: 12,
    column: 11,
    severity: 'warning'
  },
  {
    rule: 'timeouts are positive',
    text: BASE_K3S + 'boot_timeout: 0\n',
    code: 'InvalidTimeout',
    path: 'boot_timeout',
    message: 'boot_timeout 0 must be a positive number of seconds',
    line: 12,
    column: 1
  },
  {
    rule: 'a local Armbian image needs a path',
    text: withLine(BASE_K3S, 'armbian_image', 'armbian_image: { source: local }'),
    code: 'ImageMissing',
    path: 'armbian_image',
    message: /needs path:/,
    line: 6,
    column: 1
  },
  {
    rule: 'ingress_ip needs MetalLB',
    text: BASE_K3S.replace(/metallb_ip_range: .*\n/, '') + 'ingress_ip: 10.10.88.80\n',
    code: 'IngressIpWithoutMetallb',
    path: 'ingress_ip',
    message: 'ingress_ip is handed out by MetalLB: set metallb_ip_range too',
    line: 11,
    column: 1
  }
]

describe('cluster file rules (one failing file each)', () => {
  it.each(cases)('$rule', (c) => {
    const issues = parseCluster(c.text, 'c.yaml').issues
    const issue = issues.find((i) => i.code === c.code)
    expect({ issue, all: issues.map((i) => i.code) }).toMatchObject({
      issue: { path: c.path, severity: c.severity ?? 'error' }
    })
    if (typeof c.message === 'string') expect(issue!.message).toBe(c.message)
    else expect(issue!.message).toMatch(c.message)
    expect(issue!.where).toMatchObject({ file: 'c.yaml', line: c.line, column: c.column })
  })

  it('does not return a cluster when any rule fails, but does with only warnings', () => {
    expect(parseCluster(BASE_K3S + 'boot_timeout: 0\n', 'c.yaml').cluster).toBeUndefined()
    expect(parseCluster(BASE_K3S + 'addons: { nginx_ingress: true }\n', 'c.yaml').cluster).toBeDefined()
  })
})
