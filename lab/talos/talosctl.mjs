#!/usr/bin/env node
// The lab's talosctl as a process of its own (lib/command.mjs does the work). The release wrapper the
// mirror serves (binary.ts) runs this when no lab talosctl server is at hand (lib/serve.mjs); the version
// it claims comes from TALOSCTL_STANDIN_VERSION.
import { runTalosctl } from './lib/command.mjs'

const r = await runTalosctl(process.argv.slice(2), { env: process.env, cwd: process.cwd() })
process.stdout.write(r.stdout)
process.stderr.write(r.stderr, () => process.exit(r.code))
