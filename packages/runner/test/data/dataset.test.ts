import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DatasetError, loadDataset, loadSplits, select, splitByRatio, type Dataset } from '../../src/data/index.ts'
import { SENTENCES } from '../fixtures/data/make-fixtures.ts'
import { writeParquet } from '../fixtures/data/parquet-writer.ts'
import { needsShared, shared } from '../../../../tests/support/shared.ts'

const fixtures = fileURLToPath(new URL('../fixtures/data/', import.meta.url))
const fx = (name: string) => join(fixtures, name)
const sst2 = { text_column: 'sentence', label_column: 'label' }

function tmp(name: string, content: string | Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'lorapipe-data-'))
  const file = join(dir, name)
  writeFileSync(file, content)
  return file
}

const err = (re: RegExp, line?: number) => (e: unknown) => {
  assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${e}`)
  assert.match(e.message, re)
  if (line !== undefined) assert.equal(e.line, line)
  return true
}

const expected = SENTENCES.map(([text, label]) => ({ text, label }))

describe('loading local files', () => {
  test('TSV: integer labels, text kept byte for byte', async () => {
    const ds = await loadDataset({ path: fx('sst2-mini.tsv'), ...sst2 })
    assert.deepEqual(ds.rows, expected)
    assert.equal(ds.numLabels, 2)
    assert.equal(ds.labelNames, undefined)
    assert.equal(ds.source.format, 'tsv')
  })

  test('Parquet (snappy, as written by datasets): rows and ClassLabel names from the huggingface metadata', async () => {
    const ds = await loadDataset({ path: fx('sst2-mini.parquet'), ...sst2 })
    assert.deepEqual(ds.rows, expected)
    assert.deepEqual(ds.labelNames, ['negative', 'positive'])
    assert.equal(ds.numLabels, 2)
  })

  test('CSV: string labels map through the label list, quoted fields survive', async () => {
    const ds = await loadDataset({ path: fx('reviews.csv'), text_column: 'text', label_column: 'label', labels: ['negative', 'positive'] })
    assert.equal(ds.rows.length, 10)
    assert.deepEqual(ds.rows[8], { text: 'she said "wow" , and meant it ', label: 1 })
    assert.deepEqual(ds.rows[9], { text: 'two lines,\nstill one review ', label: 0 })
    assert.deepEqual(ds.rows.slice(0, 8), expected.slice(0, 8))
  })

  test('JSONL: string labels without a list get sorted distinct names', async () => {
    const ds = await loadDataset({ path: fx('reviews.jsonl'), text_column: 'text', label_column: 'label' })
    assert.deepEqual(ds.labelNames, ['negative', 'positive'])
    assert.deepEqual(ds.rows, expected.slice(0, 12))
  })

  test('sentence pairs: a second text column', async () => {
    const ds = await loadDataset({ path: fx('pairs.jsonl'), text_column: 'premise', text_pair_column: 'hypothesis', label_column: 'label', labels: ['entailment', 'contradiction'] })
    assert.deepEqual(ds.rows[1], { text: 'the cat sleeps on the sofa ', textPair: 'the cat is running outside ', label: 1 })
  })

  test('a glob reads the matching files in name order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-data-'))
    writeFileSync(join(dir, 'part-2.tsv'), 'sentence\tlabel\nsecond\t1\n')
    writeFileSync(join(dir, 'part-1.tsv'), 'sentence\tlabel\nfirst\t0\n')
    writeFileSync(join(dir, 'other.tsv'), 'sentence\tlabel\nnot me\t0\n')
    const ds = await loadDataset({ path: 'part-*.tsv', baseDir: dir, ...sst2 })
    assert.deepEqual(ds.rows.map((r) => r.text), ['first', 'second'])
    assert.equal(ds.source.files.length, 2)
    await assert.rejects(loadDataset({ path: join(dir, 'nothing-*.tsv'), ...sst2 }), err(/no file in .* matches "nothing-\*\.tsv"/))
  })

  test('format can be given when the extension does not tell', async () => {
    const file = tmp('data.txt', 'sentence\tlabel\nhi\t1\n')
    await assert.rejects(loadDataset({ path: file, ...sst2 }), err(/cannot tell the format from the extension ".txt"/))
    assert.equal((await loadDataset({ path: file, format: 'tsv', ...sst2 })).rows.length, 1)
  })
})

describe('reading the same files twice in one process (a preflight, then its stage)', () => {
  test('is read once while the files are unchanged, and again once one changes', async () => {
    const file = tmp('train.tsv', 'sentence\tlabel\nfirst\t0\n')
    const first = await loadDataset({ path: file, ...sst2 })
    assert.equal(await loadDataset({ path: file, ...sst2 }), first, 'the same dataset, not a second read')
    assert.notEqual(await loadDataset({ path: file, ...sst2, labels: ['neg', 'pos'] }), first, 'another spec is another dataset')
    writeFileSync(file, 'sentence\tlabel\nfirst\t0\nsecond\t1\n')
    assert.deepEqual((await loadDataset({ path: file, ...sst2 })).rows.map((r) => r.text), ['first', 'second'])
    writeFileSync(file, 'sentence\tlabel\nfirst\t1\n')
    utimesSync(file, 0, 0)
    assert.deepEqual((await loadDataset({ path: file, ...sst2 })).rows.map((r) => r.label), [1], 'the same size, another time: read again')
  })
})

describe('bad data is reported with file and line', () => {
  test('a missing column lists the columns present and suggests the closest', async () => {
    await assert.rejects(
      loadDataset({ path: fx('sst2-mini.tsv'), text_column: 'sentense', label_column: 'label' }),
      err(/sst2-mini\.tsv: text_column "sentense" is not a column of this file; columns present: sentence, label; did you mean "sentence"\?/),
    )
    await assert.rejects(
      loadDataset({ path: fx('sst2-mini.parquet'), text_column: 'sentence', label_column: 'labels' }),
      err(/label_column "labels" is not a column of this file; columns present: sentence, label, idx; did you mean "label"\?/),
    )
  })

  test('a label outside the label set', async () => {
    const file = tmp('l.csv', 'text,label\ngood,positive\nmeh,neutral\n')
    await assert.rejects(loadDataset({ path: file, text_column: 'text', label_column: 'label', labels: ['negative', 'positive'] }), err(/l\.csv:3: label the string "neutral" in column "label" is not in the label set \[0="negative", 1="positive"\]/, 3))
    const tsv = tmp('l.tsv', 'sentence\tlabel\nok\t1\nbad\t2\n')
    await assert.rejects(loadDataset({ path: tsv, ...sst2, labels: ['negative', 'positive'] }), err(/l\.tsv:3: label the string "2"/, 3))
  })

  test('empty text', async () => {
    const file = tmp('e.tsv', 'sentence\tlabel\nfine\t1\n   \t0\n')
    await assert.rejects(loadDataset({ path: file, ...sst2 }), err(/e\.tsv:3: empty text in column "sentence"/, 3))
  })

  test('wrong types: a number as text, a fraction or boolean as label, a negative id', async () => {
    await assert.rejects(
      loadDataset({ path: tmp('t.jsonl', '{"text":"a","label":1}\n{"text":5,"label":0}\n'), text_column: 'text', label_column: 'label' }),
      err(/t\.jsonl:2: this row has a number in text column "text"; texts must be strings/, 2),
    )
    await assert.rejects(
      loadDataset({ path: tmp('f.jsonl', '{"text":"a","label":0.5}\n'), text_column: 'text', label_column: 'label' }),
      err(/f\.jsonl:1: the label column "label" holds the number 0.5/, 1),
    )
    await assert.rejects(
      loadDataset({ path: tmp('b.jsonl', '{"text":"a","label":true}\n'), text_column: 'text', label_column: 'label' }),
      err(/b\.jsonl:1: the label column "label" holds boolean true/, 1),
    )
    await assert.rejects(loadDataset({ path: tmp('n.tsv', 'sentence\tlabel\na\t-1\n'), ...sst2 }), err(/n\.tsv:2: label -1 .* is negative/, 2))
  })

  test('a JSONL row without the text field', async () => {
    await assert.rejects(
      loadDataset({ path: tmp('m.jsonl', '{"text":"a","label":1}\n{"label":0}\n'), text_column: 'text', label_column: 'label' }),
      err(/m\.jsonl:2: this row has no "text" field/, 2),
    )
  })

  test('labels that mix names and integers', async () => {
    await assert.rejects(
      loadDataset({ path: tmp('x.jsonl', '{"text":"a","label":"pos"}\n{"text":"b","label":1}\n'), text_column: 'text', label_column: 'label' }),
      err(/x\.jsonl:2: the label column "label" mixes names/, 2),
    )
  })

  test('a null text in a Parquet file names the row', async () => {
    const pq = writeParquet([
      { name: 'sentence', type: 'string', values: ['fine', null, 'also fine'] },
      { name: 'label', type: 'int64', values: [1, 0, 1] },
    ])
    await assert.rejects(loadDataset({ path: tmp('n.parquet', pq), ...sst2 }), err(/n\.parquet \(row 2\): this row has null in text column "sentence"/, 2))
  })

  test('a file that is not Parquet', async () => {
    await assert.rejects(loadDataset({ path: tmp('x.parquet', 'sentence,label\n'), ...sst2 }), err(/x\.parquet: not a readable Parquet file/))
  })

  test('a missing file suggests a near name', async () => {
    await assert.rejects(loadDataset({ path: fx('sst2-mini.tvs'), ...sst2 }), err(/file not found; did you mean ".*sst2-mini\.tsv"\?/))
  })

  test('a folder, a FIFO or a device named as the file is said to be one, at once (not "file not found; did you mean" itself)', { timeout: 5_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lorapipe-data-'))
    mkdirSync(join(dir, 'train.tsv'))
    await assert.rejects(loadDataset({ path: join(dir, 'train.tsv'), ...sst2 }), err(/train\.tsv: is a folder, not a file$/))
    assert.equal(spawnSync('mkfifo', [join(dir, 'pipe.tsv')]).status, 0)
    await assert.rejects(loadDataset({ path: join(dir, 'pipe.tsv'), ...sst2 }), err(/pipe\.tsv: is a FIFO \(named pipe\), not a regular file/))
    symlinkSync('/dev/zero', join(dir, 'zero.tsv'))
    await assert.rejects(loadDataset({ path: join(dir, 'zero.tsv'), ...sst2 }), err(/zero\.tsv: is a character device, not a regular file \(through a symbolic link to \/dev\/zero\)/))
    // In a glob, folders are passed over and anything else that is not a regular file is refused.
    await assert.rejects(loadDataset({ path: join(dir, '*.tsv'), ...sst2 }), err(/pipe\.tsv: is a FIFO/))
  })
})

describe('selection: shuffle, limit, ratio split', () => {
  const base: Dataset = {
    rows: Array.from({ length: 100 }, (_, i) => ({ text: `t${i}`, label: i % 2 })),
    numLabels: 2,
    source: { files: ['mem'], format: 'tsv', rowsRead: 100 },
  }

  test('shuffle is seeded and stable, limit takes the first N after it', () => {
    const a = select(base, { shuffle: true, seed: 42, limit: 10 })
    const b = select(base, { shuffle: true, seed: 42, limit: 10 })
    const c = select(base, { shuffle: true, seed: 43, limit: 10 })
    assert.deepEqual(a.rows, b.rows)
    assert.notDeepEqual(a.rows, c.rows)
    assert.equal(a.rows.length, 10)
    assert.deepEqual(select(base, { limit: 3 }).rows.map((r) => r.text), ['t0', 't1', 't2'])
    assert.throws(() => select(base, { limit: 0 }), err(/limit must be a positive integer/))
  })

  test('ratio split carves ceil(n * ratio) rows deterministically, both parts in file order, disjoint', () => {
    const { train, eval: held } = splitByRatio(base, 0.1, 42)
    assert.equal(held.rows.length, 10)
    assert.equal(train.rows.length, 90)
    const idx = (d: Dataset) => d.rows.map((r) => Number(r.text.slice(1)))
    assert.deepEqual(idx(held), [...idx(held)].sort((x, y) => x - y))
    assert.equal(new Set([...idx(held), ...idx(train)]).size, 100)
    assert.deepEqual(splitByRatio(base, 0.1, 42).eval.rows, held.rows)
    assert.notDeepEqual(splitByRatio(base, 0.1, 7).eval.rows, held.rows)
  })

  test('loadSplits: eval carved by ratio, then each part shuffled and limited', async () => {
    const s = await loadSplits({ ...sst2, train: { path: fx('sst2-mini.tsv'), shuffle: true, limit: 5 }, eval: { ratio: 0.25, seed: 1 } }, { seed: 42 })
    assert.equal(s.train.rows.length, 5)
    assert.equal(s.eval!.rows.length, 6)
    const evalTexts = new Set(s.eval!.rows.map((r) => r.text))
    assert.ok(s.train.rows.every((r) => !evalTexts.has(r.text)))
  })

  test('loadSplits: eval from a file uses the label names of train', async () => {
    const evalFile = tmp('dev.csv', 'text,label\ngreat,positive\nawful,negative\n')
    const s = await loadSplits({ text_column: 'text', label_column: 'label', train: { path: fx('reviews.jsonl') }, eval: { path: evalFile } })
    assert.deepEqual(s.eval!.labelNames, ['negative', 'positive'])
    assert.deepEqual(s.eval!.rows.map((r) => r.label), [1, 0])
  })
})

describe('the real SST-2 files', () => {
  test('train.tsv has 67,349 rows and dev.tsv 872, labels 0/1 with the published counts', { skip: needsShared }, async () => {
    const train = await loadDataset({ path: shared('data/sst2/train.tsv'), ...sst2 })
    assert.equal(train.rows.length, 67349)
    assert.equal(train.rows.filter((r) => r.label === 0).length, 29780)
    assert.equal(train.rows[0]!.text, 'hide new secretions from the parental units ')
    const dev = await loadDataset({ path: shared('data/sst2/dev.tsv'), ...sst2, labels: ['negative', 'positive'] })
    assert.equal(dev.rows.length, 872)
    assert.equal(dev.rows.filter((r) => r.label === 1).length, 444)
    assert.deepEqual(dev.labelNames, ['negative', 'positive'])
  })

  test('the seed recipe subset: 2,000 shuffled training examples, the same on every run', { skip: needsShared }, async () => {
    const a = await loadDataset({ path: shared('data/sst2/train.tsv'), ...sst2, shuffle: true, seed: 42, limit: 2000 })
    const b = await loadDataset({ path: shared('data/sst2/train.tsv'), ...sst2, shuffle: true, seed: 42, limit: 2000 })
    assert.equal(a.rows.length, 2000)
    assert.deepEqual(a.rows, b.rows)
    // Pinned so a change of PRNG or shuffle (which would change every run's data) fails loudly.
    assert.deepEqual(a.rows.slice(0, 2).map((r) => r.text), PINNED_FIRST_TWO)
  })
})

// A regression pin recorded from this implementation (mulberry32 + Fisher–Yates, seed 42); the PRNG
// itself is checked against an independent implementation in rng.test.ts. Python's
// `shuffle(seed=42).select(range(2000))` picks other sentences (numpy PCG64).
const PINNED_FIRST_TWO = [
  'acclaim ',
  "they also demonstrate how desperate the makers of this ` we 're - doing-it-for - the-cash ' sequel were . ",
]
