// The kubeconfig k3s writes on the first server points at https://127.0.0.1:6443; the one handed to the
// user and to later phases points at the cluster's API endpoint. Its credentials are masked before any
// output could show them, and the file is written 0600.
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export function rewriteKubeconfig(text: string, apiEndpoint: string): string {
  return text.replace(/^(\s*server:\s*).*$/gm, `$1${apiEndpoint}`)
}

/** Credential values in a kubeconfig (certificate and key data, tokens, passwords). */
export function kubeconfigSecrets(text: string): string[] {
  const values: string[] = []
  for (const m of text.matchAll(
    /^\s*(client-certificate-data|client-key-data|certificate-authority-data|token|password):\s*(\S+)\s*$/gm
  ))
    values.push(m[2].replace(/^["']|["']$/g, ''))
  return values
}

export async function writeKubeconfig(dir: string, text: string): Promise<string> {
  const path = join(dir, 'kubeconfig')
  await writeFile(path, text, { mode: 0o600 })
  await chmod(path, 0o600) // an older file keeps its mode through writeFile
  return path
}
