// lab/talos: the Talos side of the lab. registerTalosPersonality is what lab/lab.ts calls (simulated
// nodes boot Talos disks into the emulated API); registerTalosLab adds the Image Factory and the talosctl
// release assets to the mirror. The stand-in CLI is talosctl.mjs; see README.md.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { registerPersonality as RegisterPersonality } from '../node/personality.js'
import { talosctlStandinBinary, talosctlSums } from './binary.js'
import { createLabFactory, type LabFactory } from './factory.js'
import { kubeHooks } from './kube.js'
import { talosPersonality, type TalosPersonalityOptions } from './personality.js'

export { talosPersonality, type TalosPersonalityOptions } from './personality.js'
export { talosctlStandinBinary, talosctlSums, TALOSCTL_STANDIN } from './binary.js'
export { createLabFactory, type LabFactory } from './factory.js'
export { kubeHooks, labNode, type TalosKube } from './kube.js'

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

/** What lab/talos needs from the lab mirror (lab/mirror): prefix routes on `<base>/<upstream host><path>`. */
export interface MirrorRoutes {
  route(method: string, prefix: string, handler: RouteHandler): void
}

/** Registers the Talos personality; by default bootstrapped clusters get the lab Kubernetes API on 6443. */
export function registerTalosPersonality(
  register: typeof RegisterPersonality,
  options: TalosPersonalityOptions = kubeHooks()
): void {
  register(talosPersonality(options))
}

/** GET /github.com/siderolabs/talos/releases/download/<v>/{talosctl-linux-<arch>,sha256sum.txt}. */
export function talosctlRoute(): RouteHandler {
  return (req, res) => {
    const m =
      /\/github\.com\/siderolabs\/talos\/releases\/download\/(v[^/]+)\/(talosctl-linux-(amd64|arm64)|sha256sum\.txt)$/.exec(
        decodeURIComponent((req.url ?? '').split('?')[0] ?? '')
      )
    if (!m) {
      res.writeHead(404, { 'content-type': 'text/plain' })
      res.end('Not Found')
      return
    }
    const [, version, file, arch] = m as unknown as [string, string, string, 'amd64' | 'arm64' | undefined]
    const body = arch ? talosctlStandinBinary(version, arch) : talosctlSums(version)
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(Buffer.byteLength(body))
    })
    res.end(file === 'sha256sum.txt' || arch ? body : '')
  }
}

export interface TalosLab {
  factory: LabFactory
}

/**
 * Wires Talos into a lab: the personality (when `register` is given) and the mirror routes for the
 * Image Factory and talosctl. `dir` holds the factory's built images.
 */
export function registerTalosLab(lab: {
  mirror: MirrorRoutes
  dir: string
  register?: typeof RegisterPersonality
  personality?: TalosPersonalityOptions
}): TalosLab {
  const factory = createLabFactory(join(lab.dir, 'talos-factory'))
  lab.mirror.route('POST', '/factory.talos.dev/schematics', (req, res) => factory.handleSchematics(req, res))
  lab.mirror.route('GET', '/factory.talos.dev/image/', (req, res) => factory.handleImage(req, res))
  lab.mirror.route('GET', '/github.com/siderolabs/talos/releases/download/', talosctlRoute())
  if (lab.register) registerTalosPersonality(lab.register, lab.personality)
  return { factory }
}
