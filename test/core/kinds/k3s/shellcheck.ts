// Runs shellcheck on a rendered script (written to a temp file) and returns its findings.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function shellcheck(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpi-sc-'))
  const file = join(dir, 'script.sh')
  writeFileSync(file, text)
  try {
    execFileSync('shellcheck', ['-s', 'bash', '-f', 'gcc', file], { encoding: 'utf8' })
    return ''
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
