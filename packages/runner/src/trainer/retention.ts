// Which checkpoints stay on disk. Each one holds the trainable weights and AdamW's two moments
// (three times the trainable size: about 9 MB for the seed's LoRA, 800 MB for a full DistilBERT
// fine-tune), so keeping every evaluation's checkpoint fills a disk. By default the latest (to
// resume from) and the best (for load_best_model_at_end) are kept, as a transformers user gets
// with save_total_limit and load_best_model_at_end.
import { rmSync } from 'node:fs'
import { listCheckpoints } from './checkpoint.ts'

/**
 * Keeps the newest `limit` checkpoints under `root` and the best one besides (`best`, its step);
 * `limit` null keeps them all. Returns the steps removed.
 */
export function retainCheckpoints(root: string, limit: number | null, best: number | undefined): number[] {
  if (limit === null) return []
  const all = listCheckpoints(root)
  const newest = new Set(all.slice(Math.max(0, all.length - limit)).map((c) => c.step))
  const removed: number[] = []
  for (const c of all) {
    if (newest.has(c.step) || c.step === best) continue
    rmSync(c.dir, { recursive: true, force: true })
    removed.push(c.step)
  }
  return removed
}
