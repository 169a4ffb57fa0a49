// Runs a program on the runner (talosctl, helm, kubectl from the tool cache) without a shell: argv is
// passed as is, secrets go through stdin or files, and the result is always filled.
import { spawn } from 'node:child_process'
import type { LocalExec } from '../../core/deps.js'

export function createLocalExec(baseEnv: Record<string, string | undefined> = process.env): LocalExec {
  return (file, args, options = {}) =>
    new Promise((resolve) => {
      const child = spawn(file, args, {
        cwd: options.cwd,
        env: { ...baseEnv, ...options.env },
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
