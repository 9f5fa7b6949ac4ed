// The sampler a sweep file's `method` names.
import type { Sampler, SearchMethod } from '../model.ts'
import { gpSampler } from './gp/gp.ts'
import { gridSampler } from './grid.ts'
import { randomSampler } from './random.ts'
import { tpeSampler } from './tpe/tpe.ts'

export function samplerFor(method: SearchMethod, seed: number): Sampler {
  switch (method) {
    case 'grid':
      return gridSampler()
    case 'random':
      return randomSampler(seed)
    case 'tpe':
      return tpeSampler(seed)
    case 'gp':
      return gpSampler(seed)
  }
}
