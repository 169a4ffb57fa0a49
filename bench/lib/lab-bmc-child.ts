// Starts bench/lib/lab-bmc-process.ts (the lab BMC emulator in a child process) and hands back its
// address, pin and a stop function.
import { spawn } from 'node:child_process'
import { createHash, X509Certificate } from 'node:crypto'
import { request } from 'node:https'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { BmcEmulatorOptions } from '../../lab/bmc/index.js'

export interface LabBmcChild {
  url: string
  host: string
  port: number
  /** Certificate SHA-256 (hex), what the action pins. */
  fingerprint: string
  /** curl's --pinnedpubkey value: sha256// + base64 of the SubjectPublicKeyInfo digest. */
  curlPin: string
  username: string
  password: string
  pid: number
  stop(): Promise<void>
}

const here = new URL('.', import.meta.url).pathname

export async function startLabBmcChild(options: BmcEmulatorOptions): Promise<LabBmcChild> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'lab-bmc-process.ts'), JSON.stringify(options)],
    { stdio: ['pipe', 'pipe', 'inherit'] }
  )
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`lab BMC process exited with ${code} before it listened`)))
  })
  const info = JSON.parse(line) as Omit<LabBmcChild, 'stop' | 'curlPin' | 'pid'> & { certPem: string }
  const spki = new X509Certificate(info.certPem).publicKey.export({ type: 'spki', format: 'der' })
  const curlPin = `sha256//${createHash('sha256').update(spki).digest('base64')}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    url: info.url,
    host: info.host,
    port: info.port,
    fingerprint: info.fingerprint,
    username: info.username,
    password: info.password,
    curlPin,
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** A session token for a tool that is not our client (curl): POST /api/bmc/authenticate. */
export function loginToken(bmc: Pick<LabBmcChild, 'url' | 'username' | 'password'>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${bmc.url}/api/bmc/authenticate`,
      { method: 'POST', rejectUnauthorized: false, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const token = res.headers['x-auth-token']
          if (res.statusCode === 200 && typeof token === 'string') resolve(token)
          else
            reject(
              new Error(
                `login to the lab BMC answered ${res.statusCode}: ${Buffer.concat(chunks).toString().slice(0, 200)}`
              )
            )
        })
      }
    )
    req.on('error', reject)
    req.end(JSON.stringify({ username: bmc.username, password: bmc.password }))
  })
}
