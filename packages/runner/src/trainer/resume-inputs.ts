// A resumed fine-tuning run must train on the data and start from the model it started with:
// manifest.json recorded the sha256 of each dataset file and weight file, and a resume checks
// them again before it goes on (an edited TSV would silently change the rest of the run).
import { UserFileError } from '@lorapipe/core/fs/user-file.ts'
import { sha256File, type FileHash, type Manifest } from './manifest.ts'

/** The inputs of `manifest` whose content is not what it recorded, described; [] when all match. */
export async function changedInputs(manifest: Manifest): Promise<string[]> {
  const recorded: FileHash[] = [...(manifest.model?.weights ?? []), ...(manifest.dataset?.splits ?? []).flatMap((s) => s.files)]
  const problems: string[] = []
  for (const f of recorded) {
    let now: FileHash
    try {
      now = await sha256File(f.path)
    } catch (e) {
      if (!(e instanceof UserFileError)) throw e
      problems.push(e.problem === 'not found' ? `${f.path} is gone` : e.message)
      continue
    }
    if (now.sha256 !== f.sha256) problems.push(`${f.path} has changed since the run started (sha256 ${f.sha256.slice(0, 12)}… then, ${now.sha256.slice(0, 12)}… now)`)
  }
  return problems
}
