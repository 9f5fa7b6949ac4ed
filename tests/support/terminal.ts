// A real pseudo-terminal for UI tests: a tmux server of our own running lorapipe as a user types
// it, with the screen read back as text.
import { spawnSync } from 'node:child_process'
import { bin } from './cli.ts'
import { repoRoot } from './shared.ts'

const hasTmux = spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0
export const needsTmux = hasTmux ? false : 'tmux is not installed (apt-get install -y tmux); the pseudo-terminal test needs it'

/** A tmux server of our own (its own socket), running one command in a window of a given size. */
export class Terminal {
  readonly socket = `lorapipe-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  constructor(command: string, size: { columns: number; rows: number }) {
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-x', String(size.columns), '-y', String(size.rows), '-s', 't', command)
  }
  tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  /** What the screen shows now (text only; tmux drops the escape codes). */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', 't')
  }
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<string> {
    const t0 = Date.now()
    for (;;) {
      const s = this.screen()
      if (re.test(s)) return s
      if (Date.now() - t0 > timeoutMs) throw new Error(`the screen never showed ${re}; it shows:\n${s}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  close() {
    spawnSync('tmux', ['-L', this.socket, 'kill-server'])
  }
}

/** The shell command for tmux: lorapipe as a user types it, then its exit code and terminal modes. */
export function shell(args: string[]): string {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  // CI and NO_COLOR are cleared so the UI is chosen as on a developer's terminal.
  return `cd ${q(repoRoot)} && env -u CI -u LORAPIPE_UI -u NO_COLOR TERM=xterm-256color ${q(process.execPath)} ${q(bin)} ${args.map(q).join(' ')}; code=$?; echo "EXIT=$code MODES: $(stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' ')"; sleep 60`
}

