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
import { fakeGh } from './fake-gh.js'
import { runIssueStep } from './issue-step.js'

const root = join(import.meta.dirname, '..', '..')
const folder = join(root, 'workflows-templates')
const ACTION_INPUTS = [
  'command',
  'config',
  'bmc-username',
  'bmc-password',
  'ssh-private-key',
  'artifact-recipients',
  'artifact-passphrase',
  'talos-secrets',
  'phases',
  'nodes',
  'reflash',
  'confirm',
  'fail-on-drift',
  'state-dir',
  'mirror',
  'working-directory',
  'retention-days',
  'node-concurrency',
  'backup',
  'backup-identity',
  'backup-artifact-id',
  'github-token',
  'wipe'
]

interface Step {
  id?: string
  if?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  env?: Record<string, string>
}
interface Job {
  'runs-on': unknown
  if?: string
  environment?: string
  concurrency?: { group: string; 'cancel-in-progress': boolean }
  permissions?: Record<string, string>
  strategy?: unknown
  steps: Step[]
}
interface Workflow {
  on: Record<string, unknown>
  permissions: Record<string, string>
  jobs: Record<string, Job>
}

async function templates(): Promise<{ file: string; text: string; workflow: Workflow }[]> {
  const files = (await readdir(folder)).filter((f) => f.endsWith('.yml')).sort()
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(folder, file), 'utf8')
      return { file, text, workflow: parse(text) as Workflow }
    })
  )
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
    expect(result.stdout).toBe('workflows-templates: 6 workflow(s) clean\n')
    expect(result.code).toBe(0)
  })

  it('make the lint script fail on a real finding while still ignoring the turingpi label', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tpi-lint-'))
    dirs.push(dir)
    await writeFile(
      join(dir, 'bad.yml'),
      'on: push\njobs:\n  a:\n    runs-on: [self-hosted, turingpi]\n    steps:\n      - run: echo "${{ github.evnt }}"\n'
    )
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
    expect(uses).toBe(15)
  })

  it('each come with a properties file describing them', async () => {
    const names = await readdir(folder)
    const ymls = names
      .filter((f) => f.endsWith('.yml'))
      .map((f) => f.slice(0, -4))
      .sort()
    const props = names
      .filter((f) => f.endsWith('.properties.json'))
      .map((f) => f.slice(0, -16))
      .sort()
    expect(props).toEqual(ymls)
    for (const name of props) {
      const p = JSON.parse(await readFile(join(folder, `${name}.properties.json`), 'utf8'))
      expect(Object.keys(p).sort()).toEqual(['categories', 'description', 'filePatterns', 'iconName', 'name'])
      expect(p.categories.length).toBeGreaterThan(0)
      expect(p.filePatterns.some((r: string) => new RegExp(r).test('cluster.yaml'))).toBe(true)
      if (name.includes('fleet'))
        expect(p.filePatterns.some((r: string) => new RegExp(r).test('clusters/edge.yaml'))).toBe(true)
    }
  })

  it("grant no permission at the top and only what each job needs: contents read, issues write where issues are kept, actions read to fetch another run's backup", async () => {
    for (const { file, workflow } of await templates()) {
      expect([file, workflow.permissions]).toEqual([file, {}])
      for (const [name, job] of Object.entries(workflow.jobs)) {
        const writesIssues = job.steps.some((s) => s.run?.includes('gh issue'))
        const readsRuns = job.steps.some(
          (s) =>
            (s.uses?.startsWith('actions/download-artifact@') && s.with?.['run-id']) || s.with?.['backup-artifact-id']
        )
        const wanted = writesIssues
          ? job.steps.some((s) => s.uses)
            ? { contents: 'read', issues: 'write' }
            : { issues: 'write' }
          : readsRuns
            ? { actions: 'read', contents: 'read' }
            : { contents: 'read' }
        expect([file, name, job.permissions]).toEqual([file, name, wanted])
      }
    }
  })

  it('keep secrets and boards to the self-hosted runner; validate and list run anywhere without a secret', async () => {
    for (const { file, text, workflow } of await templates())
      for (const [name, job] of Object.entries(workflow.jobs)) {
        const body = JSON.stringify(job)
        const touchesBoard =
          body.includes('secrets.') ||
          job.steps.some((s) => ['plan', 'deploy', 'drift', 'backup', 'restore'].includes(String(s.with?.command)))
        if (touchesBoard) expect([file, name, job['runs-on']]).toEqual([file, name, ['self-hosted', 'turingpi']])
        else
          expect([file, name, job['runs-on'], body.includes('secrets.')]).toEqual([file, name, 'ubuntu-latest', false])
        expect(text).not.toContain('pull_request_target')
      }
  })

  it('put every job that deploys, checks drift, backs up or restores in one concurrency group per board, never cancelled, and tell the action that group', async () => {
    let jobs = 0
    for (const { file, workflow } of await templates())
      for (const [name, job] of Object.entries(workflow.jobs)) {
        const steps = job.steps.filter((s) =>
          ['deploy', 'drift', 'backup', 'restore'].includes(String(s.with?.command))
        )
        if (!steps.length) continue
        jobs++
        const group = job.concurrency?.group
        expect([file, name, group, job.concurrency?.['cancel-in-progress']]).toEqual([
          file,
          name,
          expect.stringMatching(/^(turingpi-board-[a-z0-9+-]+|\$\{\{ matrix\.cluster\.group \}\})$/),
          false
        ])
        for (const step of steps)
          expect([file, name, step.env?.TURINGPI_CONCURRENCY_GROUP]).toEqual([file, name, group])
      }
    expect(jobs).toBe(7)
  })

  it('run deploy and redeploy jobs in a GitHub environment (required reviewers are set there)', async () => {
    const all = Object.fromEntries((await templates()).map((t) => [t.file, t.workflow]))
    expect(all['turingpi-deploy.yml'].jobs.deploy.environment).toBe('turingpi-homelab')
    expect(all['turingpi-redeploy.yml'].jobs.redeploy.environment).toBe('turingpi-homelab')
    expect(all['turingpi-fleet.yml'].jobs.deploy.environment).toBe('turingpi-${{ matrix.cluster.name }}')
    for (const { file, workflow } of await templates())
      for (const [name, job] of Object.entries(workflow.jobs))
        if (job.steps.some((s) => ['deploy', 'restore'].includes(String(s.with?.command))))
          expect([file, name, job.environment]).toEqual([file, name, expect.stringMatching(/^turingpi-/)])
  })

  it('pin every third-party action by a full commit SHA with its version in a comment', async () => {
    for (const { file, text } of await templates())
      for (const line of text
        .split('\n')
        .filter((l) => /^\s*-? ?uses: /.test(l) && !l.includes('turingpi-cluster-action'))) {
        expect([file, line.trim()]).toEqual([
          file,
          expect.stringMatching(/^(- )?uses: [\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/)
        ])
      }
  })

  it('fan the fleet out from the list output: one job per cluster, none cancelled when another fails', async () => {
    for (const file of ['turingpi-fleet.yml', 'turingpi-fleet-drift.yml']) {
      const workflow = (await templates()).find((t) => t.file === file)!.workflow
      expect(workflow.jobs.list.steps.find((s) => s.id === 'list')?.with).toEqual({
        command: 'list',
        config: 'clusters'
      })
      for (const [name, job] of Object.entries(workflow.jobs).filter(([n]) => n !== 'list' && n !== 'validate'))
        expect([file, name, job.strategy]).toEqual([
          file,
          name,
          { 'fail-fast': false, matrix: { cluster: '${{ fromJSON(needs.list.outputs.clusters) }}' } }
        ])
    }
  })

  it('offer every phase in the redeploy form, plus nodes, reflash and confirm', async () => {
    const redeploy = (await templates()).find((t) => t.file === 'turingpi-redeploy.yml')!.workflow
    const inputs = (
      redeploy.on.workflow_dispatch as {
        inputs: Record<string, { type: string; options?: string[]; default?: unknown }>
      }
    ).inputs
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
    const needles = [...expression.matchAll(/contains\(needs\.drift\.outputs\.drift, '([^']+)'\) && '([a-z-]+)'/g)].map(
      (m) => [m[1], m[2]]
    )
    expect(needles).toEqual([
      ['"kind":"unreachable"', 'error'],
      ['"kind":"drift"', 'drift']
    ])
    const status = (output: string) => needles.find(([needle]) => output.includes(needle))?.[1] ?? 'in-sync'
    const row: DriftFinding = {
      subject: 'n1',
      field: 'power',
      wanted: 'on',
      found: 'off',
      kind: 'drift',
      fixedBy: ['boot']
    }
    const down: DriftFinding = { ...row, field: 'reachable', kind: 'unreachable' }
    for (const rows of [[], [row], [row, down]]) {
      const expected = summarizeDrift(rows).status
      expect(status(JSON.stringify(rows))).toBe(expected)
      expect(status(driftJson(summarizeDrift(rows)))).toBe(expected)
    }
  })

  it('back up nightly off the hour with a retention, and restore only by hand by artifact id with confirm and the backup identity', async () => {
    const backup = (await templates()).find((t) => t.file === 'turingpi-backup.yml')!.workflow
    const [{ cron }] = backup.on.schedule as { cron: string }[]
    expect(cron.split(' ')[0]).not.toMatch(/^(0|\*)$/)
    const take = backup.jobs.backup.steps.find((s) => s.uses?.includes('turingpi-cluster-action'))!
    expect(take.with).toMatchObject({ command: 'backup', 'retention-days': 14 })
    const put = backup.jobs.restore.steps.find((s) => s.uses?.includes('turingpi-cluster-action'))!
    expect(put.with).toMatchObject({
      command: 'restore',
      'backup-artifact-id': '${{ inputs.backup-artifact-id }}',
      'github-token': '${{ github.token }}',
      confirm: '${{ inputs.confirm }}',
      'backup-identity': '${{ secrets.TURINGPI_BACKUP_IDENTITY }}'
    })
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

describe('the pull-request plan', () => {
  async function trustRun(template: string, change: 'none' | 'edit' | 'new', labelled: boolean): Promise<string> {
    const job = (await templates()).find((t) => t.file === template)!.workflow.jobs.plan
    const step = job.steps.find((s) => s.id === 'trust')!
    const dir = await mkdtemp(join(tmpdir(), 'tpi-trust-'))
    dirs.push(dir)
    const config = template === 'turingpi-fleet.yml' ? 'clusters/a.yaml' : 'cluster.yaml'
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
        cwd: dir,
        encoding: 'utf8'
      })
    git('init', '-q')
    spawnSync('mkdir', ['-p', join(dir, 'clusters')])
    await writeFile(join(dir, 'other.txt'), 'x\n')
    if (change !== 'new') await writeFile(join(dir, config), 'name: a\n')
    git('add', '-A')
    git('commit', '-qm', 'base')
    if (change !== 'none') await writeFile(join(dir, config), 'name: a\nbmc: { endpoint: https://attacker.example }\n')
    await writeFile(join(dir, 'other.txt'), 'y\n')
    git('add', '-A')
    git('commit', '-qm', 'pull request')
    await writeFile(join(dir, 'out'), '')
    const r = spawnSync('bash', ['-e', '-c', step.run!], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, GITHUB_OUTPUT: join(dir, 'out'), LABELLED: String(labelled), CONFIG: config }
    })
    expect(r.status).toBe(0)
    return (await readFile(join(dir, 'out'), 'utf8')).trim()
  }

  for (const template of ['turingpi-deploy.yml', 'turingpi-fleet.yml']) {
    it(`${template}: passes the credentials only to a cluster file the base branch already has, unless labelled`, async () => {
      expect(await trustRun(template, 'none', false)).toBe('trusted=true')
      expect(await trustRun(template, 'edit', false)).toBe('trusted=false')
      expect(await trustRun(template, 'edit', true)).toBe('trusted=true')
      if (template === 'turingpi-fleet.yml') expect(await trustRun(template, 'new', false)).toBe('trusted=false')
    })

    it(`${template}: references secrets only in the plan step that runs when trusted`, async () => {
      const job = (await templates()).find((t) => t.file === template)!.workflow.jobs.plan
      for (const step of job.steps) {
        const usesSecrets = JSON.stringify(step).includes('secrets.')
        expect([step.if ?? '', usesSecrets]).toEqual([
          usesSecrets ? "steps.trust.outputs.trusted == 'true'" : expect.any(String),
          usesSecrets
        ])
      }
      expect(job.steps.filter((s) => s.with?.command === 'plan').map((s) => s.if)).toEqual([
        "steps.trust.outputs.trusted == 'true'",
        "steps.trust.outputs.trusted != 'true'"
      ])
    })
  }
})

describe('the drift issue step against a stand-in gh', () => {
  const row: DriftFinding = {
    subject: 'n1',
    field: 'power',
    wanted: 'on',
    found: 'off',
    kind: 'drift',
    fixedBy: ['boot']
  }
  const down: DriftFinding = { ...row, field: 'reachable', kind: 'unreachable' }

  for (const template of ['turingpi-drift.yml', 'turingpi-fleet-drift.yml']) {
    it(`${template}: opens one issue on drift, comments while it lasts, leaves it when the check cannot run, closes it when gone`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'tpi-gh-'))
      dirs.push(dir)
      const gh = await fakeGh(dir)
      const step = (rows: DriftFinding[], title = '[drift] alpha') =>
        runIssueStep(template, { TITLE: title, CONFIG: 'clusters/alpha.yaml', drift: JSON.stringify(rows) }, gh)
      expect((await step([row])).code).toBe(0)
      expect((await step([row])).code).toBe(0)
      expect((await step([row, down])).stdout).toContain('could not run (status error)')
      expect((await step([], '[drift] beta')).code).toBe(0)
      let issues = await gh.issues()
      expect(issues.map((i) => [i.number, i.title, i.state, i.labels, i.comments.length])).toEqual([
        [1, '[drift] alpha', 'open', ['drift'], 1]
      ])
      expect(issues[0].comments[0]).toMatch(/^Still drifting: /)
      expect((await step([])).code).toBe(0)
      issues = await gh.issues()
      expect(issues.map((i) => [i.title, i.state])).toEqual([['[drift] alpha', 'closed']])
    })
  }
})
