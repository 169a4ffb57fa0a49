// A lab Kubernetes API behind a LAN-looking endpoint, with the address map and kubeconfig the kubectl and
// helm stand-ins read, and a runner for the stand-ins as child processes.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { kubeconfigFor, startKubeApi, type KubeApi } from '../../../lab/kube/index.mjs'

export const LAN_ENDPOINT = 'https://10.10.88.73:6443'
export const KUBECTL = resolve('lab/kube/kubectl.mjs')
export const HELM = resolve('lab/kube/helm.mjs')

export interface StandinEnv {
  api: KubeApi
  labDir: string
  kubeconfig: string
  env: Record<string, string>
  run(
    tool: 'kubectl' | 'helm',
    args: string[],
    stdin?: string,
    extraEnv?: Record<string, string>
  ): Promise<{ code: number; stdout: string; stderr: string }>
  calls(tool: 'kubectl' | 'helm'): string[][]
  stop(): Promise<void>
}

export async function startStandinEnv(options: { tls?: boolean } = {}): Promise<StandinEnv> {
  const labDir = mkdtempSync(join(tmpdir(), 'kube-lab-'))
  const api = await startKubeApi({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(labDir, 'kube'),
    tls: options.tls ?? true
  })
  writeFileSync(join(labDir, 'address-map.json'), JSON.stringify({ '10.10.88.73:6443': `127.0.0.1:${api.port}` }))
  const kubeconfig = join(labDir, 'kubeconfig')
  writeFileSync(kubeconfig, kubeconfigFor(api, LAN_ENDPOINT), { mode: 0o600 })
  const env = { PATH: process.env.PATH ?? '', TPI_LAB_DIR: labDir }
  return {
    api,
    labDir,
    kubeconfig,
    env,
    run: (tool, args, stdin, extraEnv = {}) =>
      new Promise((done) => {
        const child = execFile(
          process.execPath,
          [tool === 'kubectl' ? KUBECTL : HELM, ...args, '--kubeconfig', kubeconfig],
          { env: { ...env, ...extraEnv } },
          (error, stdout, stderr) =>
            done({
              code: error ? Number((error as NodeJS.ErrnoException & { code?: unknown }).code ?? 1) || 1 : 0,
              stdout,
              stderr
            })
        )
        child.stdin?.end(stdin ?? '')
      }),
    calls: (tool) => {
      let text = ''
      try {
        text = readFileSync(join(labDir, 'kube-calls.jsonl'), 'utf8')
      } catch {}
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { tool: string; argv: string[] })
        .filter((c) => c.tool === tool)
        .map((c) => c.argv)
    },
    stop: async () => {
      await api.stop()
      rmSync(labDir, { recursive: true, force: true })
    }
  }
}
