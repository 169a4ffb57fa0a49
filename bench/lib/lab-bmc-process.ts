// The lab BMC emulator (lab/bmc startBmc) in its OWN process, so a bench that measures the client's
// memory does not count the server's. Options come as one JSON argument; prints one JSON line
// {url, host, port, fingerprint, certPem, username, password} and serves until SIGTERM / stdin closes.
import { startBmc, type BmcEmulatorOptions } from '../../lab/bmc/index.js'

const options = JSON.parse(process.argv[2] ?? '{}') as BmcEmulatorOptions
const bmc = await startBmc(options)
process.stdout.write(
  JSON.stringify({
    url: bmc.url,
    host: bmc.host,
    port: bmc.port,
    fingerprint: bmc.fingerprint,
    certPem: bmc.certPem,
    username: bmc.username,
    password: bmc.password
  }) + '\n'
)
let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await bmc.stop()
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
// The parent holds our stdin open; when it dies without a signal, stop too.
process.stdin.on('end', () => void stop())
process.stdin.resume()
