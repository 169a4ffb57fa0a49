import type { ExecResult } from '../ssh/types.js'

export interface RunOptions {
  stdin?: string | Buffer
  env?: Record<string, string>
  timeoutMs?: number
}

/** helm and kubectl on the runner, against a kubeconfig path passed in the argv. */
export interface Kube {
  helm(args: string[], options?: RunOptions): Promise<ExecResult>
  kubectl(args: string[], options?: RunOptions): Promise<ExecResult>
}
