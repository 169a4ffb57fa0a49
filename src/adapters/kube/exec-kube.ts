// helm and kubectl run as local programs (from the tool cache) with the cluster's kubeconfig. The
// kubeconfig goes in as a file path flag, never its content; helm's own caches live in a private folder
// so a runner's ~/.config/helm (repos, registry logins) cannot change what is installed.
import type { LocalExec } from '../../core/deps.js'
import type { ExecResult } from '../ssh/types.js'
import type { Kube, RunOptions } from './types.js'

export interface KubeOptions {
  helm: string
  kubectl: string
  kubeconfig: string
  /** HELM_CACHE_HOME / HELM_CONFIG_HOME / HELM_DATA_HOME go under this folder. */
  helmHome?: string
  env?: Record<string, string>
}

export function createKube(exec: LocalExec, options: KubeOptions): Kube {
  const helmEnv: Record<string, string> = options.helmHome
    ? {
        HELM_CACHE_HOME: `${options.helmHome}/cache`,
        HELM_CONFIG_HOME: `${options.helmHome}/config`,
        HELM_DATA_HOME: `${options.helmHome}/data`
      }
    : {}
  const run = (
    file: string,
    args: string[],
    extraEnv: Record<string, string>,
    o: RunOptions = {}
  ): Promise<ExecResult> =>
    exec(file, [...args, '--kubeconfig', options.kubeconfig], {
      ...(o.stdin !== undefined ? { stdin: o.stdin } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      env: { ...options.env, ...extraEnv, ...o.env }
    })
  return {
    helm: (args, o) => run(options.helm, args, helmEnv, o),
    kubectl: (args, o) => run(options.kubectl, args, {}, o)
  }
}
