// Runs a program on the runner (talosctl, helm, kubectl from the tool cache; cp, debugfs, xz) without a
// shell: argv is passed as is, secrets go through stdin or files, and the result is always filled.
//
// A child gets an allow-list environment, never the runner's: the action's process holds INPUT_* (the
// BMC password, SSH key, artifact passphrase), ACTIONS_RUNTIME_TOKEN, GITHUB_TOKEN and whatever else the
// workflow set, and none of that is any child's business. What a tool needs (KUBECONFIG, TALOSCONFIG,
// HELM_* dirs) its adapter passes per call.
import { spawn } from 'node:child_process'
import type { LocalExec } from '../../core/deps.js'

/** Names a child inherits from the runner: search path, home, temp, locale, TLS roots and proxies. */
const INHERITED = new Set([
  'PATH',
  'HOME',
  'TMPDIR',
  'TEMP',
  'TMP',
  'LANG',
  'LANGUAGE',
  'TZ',
  'USER',
  'LOGNAME',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  // The lab's wiring (loopback address map, stand-in CLIs' state); holds no secret.
  'TPI_ADDRESS_MAP'
])
const INHERITED_PREFIX = /^(LC_|TPI_LAB_|TALOSCTL_LAB_)/
/** Never handed to a child, even when a caller passes it: the runner's credentials. */
const NEVER = /^(INPUT_|ACTIONS_|STATE_|GITHUB_TOKEN$|RUNNER_TOKEN$)/

/** The environment a child gets: the allow-listed part of `base`, plus what the caller passes. */
export function childEnv(
  base: Record<string, string | undefined>,
  extra: Record<string, string> = {}
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(base))
    if (value !== undefined && (INHERITED.has(name) || INHERITED_PREFIX.test(name))) env[name] = value
  for (const [name, value] of Object.entries(extra)) if (!NEVER.test(name)) env[name] = value
  return env
}

export function createLocalExec(baseEnv: Record<string, string | undefined> = process.env): LocalExec {
  return (file, args, options = {}) =>
    new Promise((resolve) => {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: childEnv(baseEnv, options.env),
        stdio: ['pipe', 'pipe', 'pipe']
      })
      const out: Buffer[] = []
      const err: Buffer[] = []
      let timedOut = false
      const timer = options.timeoutMs
        ? setTimeout(() => {
            timedOut = true
            child.kill('SIGKILL')
          }, options.timeoutMs)
        : undefined
      child.stdout.on('data', (d: Buffer) => out.push(d))
      child.stderr.on('data', (d: Buffer) => err.push(d))
      child.on('error', (e) => {
        if (timer) clearTimeout(timer)
        resolve({ stdout: '', stderr: `cannot run ${file}: ${e.message}`, code: 127 })
      })
      child.on('close', (code) => {
        if (timer) clearTimeout(timer)
        const stderr = Buffer.concat(err).toString()
        resolve({
          stdout: Buffer.concat(out).toString(),
          stderr: timedOut ? `${stderr}\n${file} timed out after ${options.timeoutMs} ms` : stderr,
          code: timedOut ? 124 : (code ?? 1)
        })
      })
      child.stdin.on('error', () => {}) // the program may exit before reading its stdin
      child.stdin.end(options.stdin ?? '')
    })
}
