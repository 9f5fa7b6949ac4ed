// A small, real file system to fill up: a tmpfs of a given size, mounted for the length of one
// shell script. In a user and mount namespace of its own (`unshare -rm`) where the kernel allows
// it (no root needed, and the mount goes away with the script), else directly when we are root.
// Tests that need it skip with `needsSmallDisk` when neither works.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** The command that runs a script whose first argument is a folder it may mount a tmpfs on. */
function probe(): readonly string[] | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-mount-probe-'))
  try {
    const tryMount = `mount -t tmpfs -o size=64k tmpfs "$0" && umount "$0"`
    for (const wrapper of [['unshare', '-rm', 'bash'], ['bash']]) {
      if (wrapper.length === 1 && process.getuid?.() !== 0) continue
      const r = spawnSync(wrapper[0]!, [...wrapper.slice(1), '-c', tryMount, dir], { stdio: 'ignore', timeout: 10_000 })
      if (r.status === 0) return wrapper
    }
    return undefined
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const wrapper = probe()

/** `skip` option for node:test: false when a tmpfs can be mounted, else why the test is skipped. */
export const needsSmallDisk: string | false = wrapper
  ? false
  : 'skipped: cannot mount a tmpfs here (needs unprivileged user namespaces for `unshare -rm`, or root)'

/**
 * Runs a bash script with a tmpfs of `size` (e.g. `1m`) mounted on `$MNT` for its whole length,
 * and unmounted after. Its exports: MNT, and whatever `env` adds.
 */
export function withSmallDisk(size: string, script: string, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  if (!wrapper) throw new Error(String(needsSmallDisk))
  const mnt = mkdtempSync(join(tmpdir(), 'lorapipe-small-disk-'))
  const body = `set -u\nmount -t tmpfs -o size=${size} tmpfs "$MNT" || exit 99\ntrap 'umount "$MNT"' EXIT\n${script}`
  try {
    return spawnSync(wrapper[0]!, [...wrapper.slice(1), '-c', body], {
      env: { ...process.env, NO_COLOR: '1', ...env, MNT: mnt },
      encoding: 'utf8',
      timeout: 180_000,
    })
  } finally {
    rmSync(mnt, { recursive: true, force: true })
  }
}
