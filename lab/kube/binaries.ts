// The bytes the lab hands out as "kubectl" and "helm" release assets: small sh wrappers that run the
// stand-ins with the node that runs the lab. helm comes as get.helm.sh does, a tar.gz holding
// linux-<arch>/helm, so the action's unpack path is the same as on a runner. A mirror serves these under
// the upstream URLs of src/core/tools/catalog.ts; tests hand them out through a fake Downloads.
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

export const KUBECTL_STANDIN = fileURLToPath(new URL('./kubectl.mjs', import.meta.url))
export const HELM_STANDIN = fileURLToPath(new URL('./helm.mjs', import.meta.url))

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** Records the environment the action gave the tool (TPI_LAB_ENV_RECORD, a folder) before running it. */
export const recordEnvLine = (tool: string): string =>
  `[ -z "\${TPI_LAB_ENV_RECORD-}" ] || tr '\\0' '\\n' < /proc/$$/environ > "$TPI_LAB_ENV_RECORD/${tool}.$$.env"\n`

function wrapper(script: string, version: string, versionVar: string): string {
  const tool = script
    .split('/')
    .pop()!
    .replace(/\.mjs$/, '')
  return `#!/bin/sh\n${recordEnvLine(tool)}${versionVar}=${quote(version)} exec ${quote(process.execPath)} ${quote(script)} "$@"\n`
}

export function kubectlStandinBinary(version = 'v1.32.0'): Buffer {
  return Buffer.from(wrapper(KUBECTL_STANDIN, version, 'KUBECTL_STANDIN_VERSION'))
}

/** One ustar entry (regular file); enough for a one-file archive. */
function tarFile(name: string, body: Buffer, mode = 0o755): Buffer {
  const header = Buffer.alloc(512)
  const put = (text: string, offset: number, length: number): void =>
    void header.write(text.slice(0, length), offset, 'utf8')
  put(name, 0, 100)
  put(mode.toString(8).padStart(7, '0') + '\0', 100, 8)
  put('0000000\0', 108, 8)
  put('0000000\0', 116, 8)
  put(body.length.toString(8).padStart(11, '0') + '\0', 124, 12)
  // A fixed mtime: the same version is the same bytes (and digest) on every seed, as a release is.
  put((1_700_000_000).toString(8).padStart(11, '0') + '\0', 136, 12)
  put('        ', 148, 8)
  put('0', 156, 1)
  put('ustar\0', 257, 6)
  put('00', 263, 2)
  const sum = header.reduce((a, b) => a + b, 0)
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8)
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512)
  return Buffer.concat([header, body, pad])
}

export function helmStandinTarball(arch: 'amd64' | 'arm64', version = 'v3.19.0'): Buffer {
  const bin = Buffer.from(wrapper(HELM_STANDIN, version, 'HELM_STANDIN_VERSION'))
  return gzipSync(
    Buffer.concat([
      tarFile(`linux-${arch}/helm`, bin),
      tarFile(`linux-${arch}/README.md`, Buffer.from('lab helm stand-in\n'), 0o644),
      Buffer.alloc(1024)
    ])
  )
}
