// Reaching the queue's Redis once before a command starts its work (the queue's checkQueue), said
// as a command says it: SIGINT and SIGTERM end the wait (exit 130), a refused password is bad
// input (exit 2), an unreachable host a failure (exit 1), each with its hint.
import { checkQueue, QueueAuthRefused, QueueUnreachable, QueueUrlError, QueueWaitInterrupted, type QueueConnection } from '@lorapipe/queue/connection.ts'
import { EXIT } from '../exit-codes.ts'

/**
 * `checkQueue` for a command: SIGINT and SIGTERM end the wait (exit 130), and a failure is printed
 * with its hint. Returns undefined once Redis answered, else the exit code to end with.
 */
export async function reachQueue(c: QueueConnection, opts: { readonly timeoutMs?: number } = {}): Promise<number | undefined> {
  const ac = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => ac.abort(sig)
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await checkQueue(c, { ...opts, signal: ac.signal, onWait: (e) => process.stderr.write(`waiting for the queue's Redis at ${e.address} (${e.reason}) ...\n`) })
    return undefined
  } catch (e) {
    if (e instanceof QueueWaitInterrupted) {
      process.stderr.write(`\n${e.signal === 'SIGINT' ? 'Ctrl-C' : e.signal}: stopped while connecting to the queue at ${c.display}; nothing was done\n`)
      return EXIT.interrupted
    }
    if (e instanceof QueueAuthRefused) {
      process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`)
      return EXIT.badInput
    }
    if (e instanceof QueueUnreachable) {
      process.stderr.write(`error: ${e.message}\n  hint: ${e.hint}\n`)
      return EXIT.failed
    }
    if (e instanceof QueueUrlError) {
      process.stderr.write(`error: ${e.message}\n`)
      return EXIT.badInput
    }
    throw e
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
