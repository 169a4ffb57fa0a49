// `npm run demo [-- --kind talos] [-- --rerun] [-- --fleet] [-- --restore-drill | --destroy] [-- --upgrade]`: starts the lab (one simulated Turing Pi board: BMC
// emulator, four RK1 nodes, download mirror, artifact service), runs the action's real bundle
// (dist/main then dist/post, inputs as GitHub passes them) to deploy examples/<kind>-cluster.yaml,
// streams the log as a runner shows it (masked values as ***, no debug lines), prints the job summary
// (as text, then the Mermaid source of its pictures verbatim) and keeps a copy of the summary file,
// decrypts the kubeconfig artifact with the age CLI as a user would, and tears everything down.
//
// `npm run demo` starts this in a private network namespace (scripts/in-netns.sh) when the machine allows
// it, so the example's LAN addresses cannot leave the machine even by mistake; the lab answers on 127.x.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { decryptLabArtifact, runLabAction, setupLabAction } from './action.js'
import { KUBECTL_STANDIN } from './kube/binaries.js'
import { startLab } from './lab.js'
import { lifecycleDemo } from './demo-lifecycle.js'
import { upgradeDemo } from './demo-upgrade.js'

const args = process.argv.slice(2)
const kind = args.includes('--kind') ? args[args.indexOf('--kind') + 1] : 'k3s'
if (kind !== 'k3s' && kind !== 'talos') {
  console.error(`--kind must be k3s or talos, not "${kind}"`)
  process.exit(2)
}

if (!existsSync(join(import.meta.dirname, '..', 'dist', 'main', 'index.js'))) {
  console.error('dist/main/index.js is missing: run `npm run build` first')
  process.exit(1)
}

// `--fleet`: two clusters on two boards, listed, deployed and drift-checked (lab/demo-fleet.ts).
if (args.includes('--fleet')) process.exit(await (await import('./demo-fleet.js')).demoFleet())

/** What the runner does with workflow commands in the log: masks, hides debug, prints the rest. */
function runnerView(): (chunk: string) => void {
  const masks: string[] = []
  let partial = ''
  return (chunk) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      const mask = /^::add-mask::(.*)$/.exec(line)
      if (mask) {
        // Like the runner: the value as given (unescaped), matched within each output line.
        const value = mask[1]!.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
        if (value.length > 3) masks.push(value)
        masks.sort((a, b) => b.length - a.length)
        continue
      }
      if (line.startsWith('::debug::')) continue
      let shown = line
      for (const m of masks) shown = shown.split(m).join('***')
      process.stdout.write(shown.replace(/%0A/g, '\n  ') + '\n')
    }
  }
}

const MERMAID = /```mermaid\n([\s\S]*?)```\n?/g

/** The summary as a person reads it where Mermaid does not render: each diagram stands as a marker. */
const text = (summary: string): string =>
  summary
    .replace(MERMAID, (_, source: string) => `[diagram: ${source.split('\n')[0]}, source below]\n`)
    .replace(/<\/(tr|h2|h3|p|li|blockquote|summary)>/g, '\n')
    .replace(/<\/t[dh]>/g, ' | ')
    .replace(/<[^>]+>/g, '')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')
    .replace(/\n{2,}/g, '\n')
    .trim()

const t0 = performance.now()
const lab = await startLab({ bootDelayMs: 400, bmcPassword: 'lab-bmc-password' })
let code = 1
const lifecycle = args.includes('--restore-drill')
  ? 'restore-drill'
  : args.includes('--destroy')
    ? 'destroy'
    : undefined
const upgrade = args.includes('--upgrade')
try {
  demo: {
    console.log(
      `lab: BMC ${lab.boards[0]!.bmc.url} (emulated bmcd 2.3.x), nodes 127.10.0.1-4, mirror ${lab.mirror.url}`
    )
    // --restore-drill / --destroy: lab/demo-lifecycle.ts instead of the deploy below.
    if (lifecycle) {
      code = await lifecycleDemo(lab, lifecycle, runnerView())
      break demo
    }
    // --upgrade: deploy, then the next version planned and walked, then drift (lab/demo-upgrade.ts).
    if (upgrade) {
      code = await upgradeDemo(lab, kind, runnerView())
      break demo
    }
    const setup = await setupLabAction(lab, join('examples', `${kind}-cluster.yaml`))
    console.log(`lab: ${setup.configPath} is examples/${kind}-cluster.yaml with the lab BMC's certificate pinned\n`)
    const runs = args.includes('--rerun') ? 2 : 1
    for (let i = 1; i <= runs; i++) {
      console.log(
        `$ INPUT_COMMAND=deploy INPUT_CONFIG=examples/${kind}-cluster.yaml node dist/main/index.js   # run ${i}\n`
      )
      const run = await runLabAction(lab, setup, { command: 'deploy' }, runnerView())
      console.log(`\n--- job summary (run ${i}) ---\n${text(run.summary)}\n`)
      const diagrams = [...run.summary.matchAll(MERMAID)].map((m) => m[1]!)
      console.log(
        `--- Mermaid source in the job summary (run ${i}): ${diagrams.length} diagram(s), GitHub draws each ---`
      )
      for (const source of diagrams) console.log('```mermaid\n' + source + '```')
      // The action wrote $GITHUB_STEP_SUMMARY inside the lab's temp dir, which goes with the lab: keep a copy.
      const kept = join(tmpdir(), 'turingpi-cluster-demo')
      mkdirSync(kept, { recursive: true })
      const summaryFile = join(kept, `${kind}-run${i}-summary.md`)
      writeFileSync(summaryFile, run.summary)
      console.log(`job summary file (GITHUB_STEP_SUMMARY, Markdown with HTML): ${summaryFile}`)
      console.log(
        `  render its pictures: node scripts/render-summary-image.mjs ${summaryFile} summary.png   (needs chromium)\n`
      )
      code = run.code
      console.log(`run ${i}: exit ${run.code} after ${(run.ms / 1000).toFixed(1)} s`)
      if (code !== 0) break
    }
    if (code === 0) {
      const name = `${setup.cluster.name}-kubeconfig`
      const files = await decryptLabArtifact(lab, setup, name)
      const kubeconfig = Object.values(files)[0] ?? ''
      console.log(
        `\nartifact ${name}: ${Object.keys(files).join(', ')} decrypted with \`age -d -i key.txt\` (${kubeconfig.length} bytes of kubeconfig, not shown)`
      )
      const path = join(lab.dir, 'kubeconfig')
      writeFileSync(path, kubeconfig, { mode: 0o600 })
      console.log(
        `$ kubectl --kubeconfig kubeconfig get nodes   # the lab's kubectl stand-in, through the address map\n`
      )
      // Asynchronously: the lab's Kubernetes API answers from this very process.
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [KUBECTL_STANDIN, 'get', 'nodes', '--kubeconfig', path],
        { encoding: 'utf8', env: { ...process.env, ...lab.env() } }
      )
      console.log(stdout)
    }
  }
} catch (error) {
  console.error(`demo: ${(error as Error).message}`)
} finally {
  await lab.stop()
}
console.log(
  `\n=== demo: ${lifecycle ? `${lifecycle} of examples/k3s-cluster.yaml made HA` : upgrade ? `deploy and upgrade of examples/${kind}-cluster.yaml` : `deploy of examples/${kind}-cluster.yaml`} ${code === 0 ? 'succeeded' : `FAILED (exit ${code})`} on the simulated board; ${((performance.now() - t0) / 1000).toFixed(1)} s including lab start and teardown`
)
process.exit(code)
