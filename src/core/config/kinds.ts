// One rule per kind of field: every value of the cluster file that reaches a shell, an argv, a path, a
// URL or a YAML document has a kind, and the kind refuses what it cannot carry. Each rule returns what
// is expected when the value does not fit (the caller quotes the value and adds the location), or
// undefined. Whitelists, not blacklists: a rule says what a value may be, so a hostile value that no
// one thought of is refused like the ones someone did.

export type Rule = (value: string) => string | undefined

const fits =
  (re: RegExp, expected: string): Rule =>
  (v) =>
    re.test(v) ? undefined : expected
const all =
  (...rules: Rule[]): Rule =>
  (v) =>
    rules.map((r) => r(v)).find((p) => p !== undefined)
const maxLength =
  (n: number): Rule =>
  (v) =>
    v.length <= n ? undefined : `at most ${n} characters`

/** RFC 1123 label: hostnames, the cluster name, board names. */
export const label: Rule = fits(
  /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
  'lower-case letters, digits and "-", not starting or ending with "-" (RFC 1123 label, at most 63 characters)'
)

/** RFC 1123 DNS name (dot-separated labels). */
export const dnsName: Rule = all(
  maxLength(253),
  fits(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i,
    'a DNS name: labels of letters, digits and "-" separated by "."'
  )
)

const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/

/** Kubernetes label key: [prefix/]name, prefix a DNS subdomain, name a qualified name (k8s validation). */
export const labelKey: Rule = (v) => {
  const slash = v.lastIndexOf('/')
  const prefix = slash >= 0 ? v.slice(0, slash) : undefined
  const name = slash >= 0 ? v.slice(slash + 1) : v
  const expected =
    'a Kubernetes label key: [prefix/]name, the name at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit, the prefix a DNS subdomain'
  if (!QUALIFIED_NAME.test(name)) return expected
  if (
    prefix !== undefined &&
    (prefix.length > 253 || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(prefix))
  )
    return expected
  return undefined
}

/** Kubernetes label value: empty, or a qualified name of at most 63 characters. */
export const labelValue: Rule = (v) =>
  v === '' || QUALIFIED_NAME.test(v)
    ? undefined
    : 'a Kubernetes label value: empty, or at most 63 letters, digits, "-", "_" or "." starting and ending with a letter or digit'

/**
 * An absolute path on a node, as it goes into a script, an fstab line or a unit: "/" then segments of
 * letters, digits, ".", "_", "-", "+", "@"; no ".." or "." segment, no empty segment, not "/" itself.
 */
export const nodePath: Rule = all(
  maxLength(255),
  fits(
    /^(\/[A-Za-z0-9_+@-][A-Za-z0-9._+@-]*)+$/,
    'an absolute path on the node: "/" and segments of letters, digits, ".", "_", "-", "+", "@" (no spaces, quotes or control characters)'
  ),
  (v) =>
    v.split('/').some((s) => s === '.' || s === '..') ? 'an absolute path without "." or ".." segments' : undefined
)

/** A block device: /dev/<name>[/<name>…] (e.g. /dev/nvme0n1, /dev/disk/by-id/nvme-…). */
export const devicePath: Rule = all(
  maxLength(255),
  fits(
    /^\/dev(\/[A-Za-z0-9_:+-][A-Za-z0-9._:+-]*)+$/,
    'a block device path such as /dev/nvme0n1 or /dev/disk/by-id/<id> (no spaces, options or quotes)'
  ),
  (v) => (v.split('/').some((s) => s === '.' || s === '..') ? 'a device path without "." or ".." segments' : undefined)
)

/** The RK1 boot eMMC (and SD): never a data disk. */
export const isBootMedium = (device: string): boolean => /^\/dev\/mmcblk\d+(p\d+|boot\d+)?$/.test(device)

/** A TCP port. */
export const port = (n: number): string | undefined =>
  Number.isInteger(n) && n >= 1 && n <= 65535 ? undefined : 'a TCP port from 1 to 65535'

/** A POSIX login name (useradd's default rule). */
export const userName: Rule = fits(
  /^[a-z_][a-z0-9_-]{0,31}$/,
  'a user name: a lower-case letter or "_", then up to 31 lower-case letters, digits, "_" or "-"'
)

/** The BMC's user name (sent in JSON, but also shown in messages). */
export const bmcUser: Rule = fits(/^[A-Za-z0-9._-]{1,64}$/, 'a user name of letters, digits, ".", "_" or "-"')

/** A release version: digits and dots, an optional "v", an optional pre-release/build suffix. */
export const version: Rule = all(
  maxLength(64),
  fits(
    /^v?\d+(\.\d+){1,3}([-+][0-9A-Za-z]+([.-][0-9A-Za-z]+)*)?$/,
    'a version such as 1.2.3 (digits and dots, an optional -suffix; no "/" or spaces)'
  )
)

/** A model name from the catalog, or a tag-like name: letters, digits, ".", "_", "-", ":". */
export const modelName: Rule = all(
  maxLength(128),
  fits(
    /^[A-Za-z0-9]([A-Za-z0-9_-]|\.(?!\.)|:(?!:))*$/,
    'a model name of letters, digits, ".", "_", "-" or ":", starting with a letter or digit'
  )
)

/** A quantization tag such as w8a8 or w8a8_g128. */
export const quantization: Rule = fits(
  /^[A-Za-z0-9][A-Za-z0-9_]{0,31}$/,
  'a quantization such as w8a8 (letters, digits and "_")'
)

/** An OCI repository path as the Image Factory names overlays and extensions: siderolabs/iscsi-tools. */
export const imageName: Rule = all(
  maxLength(255),
  fits(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/,
    'an image name such as siderolabs/sbc-rockchip: lower-case path components of letters and digits joined by ".", "_" or "-", separated by "/"'
  )
)

/** The Image Factory overlay's board name (turingrk1). */
export const overlayBoard: Rule = fits(
  /^[a-z0-9]([a-z0-9_-]{0,62}[a-z0-9])?$/,
  'a board name of lower-case letters, digits, "_" and "-", such as turingrk1'
)

/** sha256 digest. */
export const sha256: Rule = fits(/^[0-9a-fA-F]{64}$/, 'a SHA-256 digest: 64 hex digits')

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/** A URL's host: a DNS name, an IPv4 address or a bracketed IPv6 address. */
const urlHost: Rule = (h) =>
  IPV4.test(h) || /^\[[0-9a-f:.]+\]$/i.test(h) || !dnsName(h)
    ? undefined
    : 'a URL whose host is a DNS name or an IP address'

function urlProblem(v: string, schemes: readonly string[]): string | undefined {
  if (v.length > 2048) return 'a URL of at most 2048 characters'
  if (/[\s\u0000-\u001f\u007f-\uffff"'`$\\<>{}|^]/.test(v))
    return 'a URL without spaces, quotes, "$", backslashes, non-ASCII or control characters'
  let u: URL
  try {
    u = new URL(v)
  } catch {
    return `a URL such as ${schemes[0]}://host/path`
  }
  if (!schemes.includes(u.protocol.slice(0, -1)))
    return `a ${schemes.join(' or ')} URL (not ${u.protocol.slice(0, -1)}:)`
  if (u.username || u.password)
    return 'a URL without credentials (user:password@): they would be printed in the plan and the logs; use a mirror that needs none'
  if (!u.hostname) return 'a URL with a host'
  if (u.port === '0') return 'a URL whose port is from 1 to 65535'
  return urlHost(u.hostname)
}

/** A download URL: http or https, no credentials. */
export const downloadUrl: Rule = (v) => urlProblem(v, ['https', 'http'])

/** A base URL with https only, a host, an optional port and nothing else (the BMC). */
export const httpsBase: Rule = (v) => {
  const p = urlProblem(v, ['https'])
  if (p) return p
  const u = new URL(v)
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    return 'a base URL: https://<host>[:port] with no path, query or fragment'
  return undefined
}

/**
 * A file path on the runner as written in the file (the caller resolves it): no control characters,
 * no scheme (a URL is not a file).
 */
export const runnerPath: Rule = all(
  maxLength(4096),
  (v) => (/[\u0000-\u001f\u007f]/.test(v) ? 'a file path without control characters' : undefined),
  (v) => (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(v) ? 'a file path (not a URL)' : undefined),
  (v) => (v.trim() === '' ? 'a file path' : undefined)
)
