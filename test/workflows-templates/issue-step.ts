// Runs a drift template's issue step as the runner would: its real bash, its env with the STATUS
// expression evaluated on a drift output, and `gh` a local stand-in (fake-gh.ts).
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'

interface Step {
  name?: string
  run?: string
  env?: Record<string, string>
}

const folder = join(import.meta.dirname, '..', '..', 'workflows-templates')

export async function issueStep(template: string): Promise<{ run: string; env: Record<string, string> }> {
  const workflow = parse(await readFile(join(folder, template), 'utf8')) as { jobs: Record<string, { steps: Step[] }> }
  const step = Object.values(workflow.jobs)
    .flatMap((j) => j.steps)
    .find((s) => s.run?.includes('gh issue'))
  if (!step?.run || !step.env) throw new Error(`${template}: no issue step`)
  return { run: step.run, env: step.env }
}

/** The STATUS expression: `contains(<output>, needle) && 'status' || ...`, evaluated on `output`. */
export function evaluateStatus(expression: string, output: string): string {
  const needles = [...expression.matchAll(/contains\([^,]+, '([^']+)'\) && '([a-z-]+)'/g)].map((m) => [m[1], m[2]])
  if (!needles.length) throw new Error(`not a STATUS expression: ${expression}`)
  const fallback = expression.match(/\|\| '([a-z-]+)' \}\}$/)?.[1] ?? 'in-sync'
  return needles.find(([needle]) => output.includes(needle))?.[1] ?? fallback
}

export async function runIssueStep(
  template: string,
  values: { TITLE: string; CONFIG?: string; drift: string },
  gh: { bin: string; state: string }
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { run, env } = await issueStep(template)
  const vars = {
    PATH: `${gh.bin}:${process.env.PATH}`,
    FAKE_GH_STATE: gh.state,
    TITLE: values.TITLE,
    CONFIG: values.CONFIG ?? 'cluster.yaml',
    STATUS: evaluateStatus(env.STATUS, values.drift),
    RUN_URL: 'http://127.0.0.1/run/1',
    GH_TOKEN: 'test-token',
    GH_REPO: 'owner/repo'
  }
  return new Promise((resolve) => {
    execFile('bash', ['-c', run], { env: vars }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    )
  })
}
