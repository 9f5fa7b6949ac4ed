// The folders a worker may use (`lorapipe worker --allow DIR`, default: the folder it was started
// in): the sweep folders it serves, and the sweep files, pipelines and stage modules it runs, must
// lie inside one of them. Paths are compared after resolving symbolic links, so a link cannot lead
// a worker out of them.
import { realpathSync, statSync } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'

export class AllowedFolders {
  private constructor(
    /** Real paths of the folders. */
    readonly folders: readonly string[],
  ) {}

  /** The folders given (relative to `cwd`); throws an Error naming the one that is not a folder. */
  static of(dirs: readonly string[], cwd = process.cwd()): AllowedFolders {
    const real = dirs.map((d) => {
      const abs = resolve(cwd, d)
      let r: string
      try {
        r = realpathSync(abs)
      } catch {
        throw new Error(`--allow ${d}: no such folder`)
      }
      if (!statSync(r).isDirectory()) throw new Error(`--allow ${d}: not a folder`)
      return r
    })
    return new AllowedFolders([...new Set(real)])
  }

  /** Whether the real path `real` is one of the folders or inside one. */
  holdsReal(real: string): boolean {
    return this.folders.some((f) => isInside(real, f))
  }

  /**
   * The real path of `path` when it exists and lies inside an allowed folder; else why not
   * (`outside`: it resolves outside them; `missing`: it does not exist here).
   */
  check(path: string): { readonly real: string } | { readonly outside: string } | { readonly missing: true } {
    let real: string
    try {
      real = realpathSync(path)
    } catch {
      return { missing: true }
    }
    return this.holdsReal(real) ? { real } : { outside: real }
  }

  toString(): string {
    return this.folders.join(', ')
  }
}

/** Whether `path` is `dir` or lies inside it (both absolute and normalised). */
export function isInside(path: string, dir: string): boolean {
  if (path === dir) return true
  const rel = relative(dir, path)
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel)
}
