// A BMC emulator for people: `npx tsx lab/bmc/serve.ts [--port 8443] [--host 127.20.0.1] [--http-port 8080]`.
// Prints the URL, the certificate fingerprint and the lab credentials, then serves until Ctrl-C.
import { parseArgs } from 'node:util'
import { startBmc } from './index.js'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8443' },
    host: { type: 'string', default: '127.20.0.1' },
    'http-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'write-bytes-per-sec': { type: 'string' }
  }
})

const bmc = await startBmc({
  host: values.host,
  port: Number(values.port),
  httpPort: values['http-port'] === undefined ? undefined : Number(values['http-port']),
  dataDir: values['data-dir'],
  writeBytesPerSec: values['write-bytes-per-sec'] === undefined ? undefined : Number(values['write-bytes-per-sec'])
})
bmc.events.on('power', (slot: number, on: boolean) => console.log(`power: node ${slot} ${on ? 'on' : 'off'}`))
bmc.events.on('flashed', (slot: number, path: string) => console.log(`flashed: node ${slot} → ${path}`))
// These are the emulator's fixed lab credentials (bmcd's documented defaults), not a secret.
console.log(`BMC emulator at ${bmc.url}${bmc.httpUrl ? ` (port-80 style: ${bmc.httpUrl})` : ''}
certificate sha256: ${bmc.fingerprint}
credentials: ${bmc.username} / ${bmc.password}
disk files: ${bmc.dataDir}
try: curl -k -u ${bmc.username}:${bmc.password} '${bmc.url}/api/bmc?opt=get&type=power'`)
const shutdown = (): void => {
  void bmc.stop().then(() => process.exit(0))
}
process.on('SIGINT', shutdown)
process.on('SIGTERM', shutdown)
