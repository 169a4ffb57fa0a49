// Builds the committed bundles with ncc: the action's main and post entries and the CLI. CI rebuilds and
// fails when dist/ differs, so the output must not depend on the machine: dependencies are installed with
// --ignore-scripts (no native ssh2 addons get compiled and copied in).
import { execFileSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'

const entries = { main: 'src/action/entry-main.ts', post: 'src/action/entry-post.ts', cli: 'src/cli/index.ts' }
rmSync('dist', { recursive: true, force: true })
for (const [name, entry] of Object.entries(entries)) {
  execFileSync('npx', ['ncc', 'build', entry, '-o', `dist/${name}`, '--license', 'licenses.txt', '--quiet'], {
    stdio: 'inherit'
  })
}
writeFileSync('dist/package.json', '{\n  "type": "module"\n}\n')
