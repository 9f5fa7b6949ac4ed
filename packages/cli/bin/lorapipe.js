#!/usr/bin/env node
// lorapipe runs from its TypeScript sources: tsx compiles on the fly (and caches), so there is no
// build step, and users' `.ts` stage modules load the same way.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
