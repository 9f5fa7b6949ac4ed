// Run as a separate process by concurrency.test.ts: downloads one file with the hub client and
// prints the result as one JSON line. Arguments: <repo> <file>; endpoint and cache come from HF_* env.
import { hfHubDownloadInfo } from '../../src/hub/index.ts'

const [repo, file] = process.argv.slice(2)
const events: string[] = []
hfHubDownloadInfo(repo!, file!, { onEvent: (e) => events.push(e.type), retryDelayMs: 0 }).then(
  (info) => {
    process.stdout.write(JSON.stringify({ ok: true, path: info.path, source: info.source, events }) + '\n')
  },
  (e: { _tag?: string; message?: string }) => {
    process.stdout.write(JSON.stringify({ ok: false, tag: e._tag, message: e.message }) + '\n')
    process.exitCode = 1
  },
)
