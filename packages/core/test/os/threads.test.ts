import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { availableParallelism } from 'node:os'
import { machineThreads } from '../../src/os/threads.ts'

describe('machineThreads: the threads lorapipe may use here', () => {
  test('LORAPIPE_THREADS when it is a count of at least 1 (fractions rounded down), else every core', () => {
    assert.equal(machineThreads({ LORAPIPE_THREADS: '3' }), 3)
    assert.equal(machineThreads({ LORAPIPE_THREADS: '2.5' }), 2)
    for (const bad of [undefined, '', '0', '0.5', '-2', 'many', 'Infinity']) assert.equal(machineThreads({ LORAPIPE_THREADS: bad }), availableParallelism(), String(bad))
  })
})
