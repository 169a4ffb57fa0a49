import { spawn } from 'node:child_process'

export interface ToolResult {
  code: number
  stdout: Buffer
  stderr: string
}

// Runs a Debian disk tool (sfdisk, mke2fs, debugfs) without a shell, so paths never need quoting.
export function runTool(cmd: string, args: string[], input?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr: err }))
    child.stdin.on('error', () => undefined) // tools that do not read stdin close it early
    child.stdin.end(input ?? '')
  })
}

export async function mustRun(cmd: string, args: string[], input?: string): Promise<Buffer> {
  const r = await runTool(cmd, args, input)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}, expected 0: ${r.stderr.trim()}`)
  return r.stdout
}
