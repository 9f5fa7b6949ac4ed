// TensorBoard's `Event` and `Summary` protocol buffers, encoded (field numbers from
// tensorflow/core/util/event.proto, tensorflow/core/framework/summary.proto and tensor.proto,
// tensorboard/plugins/hparams/plugin_data.proto and google/protobuf/struct.proto).
import { ProtoWriter, readFields } from './protobuf-wire.ts'

/** What `tf.summary` writes first in every file; readers check it. */
export const FILE_VERSION = 'brain.Event:2'

const DT_FLOAT = 1
const DT_STRING = 7

/** hparams plugin status (tensorboard/plugins/hparams/api.proto `Status`). */
export const STATUS = { success: 1, failure: 2 } as const

export type HParamValue = string | number | boolean

function event(wallTime: number, step: number): ProtoWriter {
  const e = new ProtoWriter().double(1, wallTime)
  // proto3 leaves a zero out; readers take the absent field as step 0.
  if (step !== 0) e.int(2, step)
  return e
}

/** The first event of a file: `file_version`, at `wallTime` (seconds since the epoch). */
export function fileVersionEvent(wallTime: number): Uint8Array {
  return event(wallTime, 0).bytes(3, FILE_VERSION).finish()
}

/** One event with a `simple_value` (float32) per tag, as `tf.summary.scalar` in TensorFlow 1 writes them. */
export function scalarsEvent(wallTime: number, step: number, values: readonly (readonly [string, number])[]): Uint8Array {
  const summary = new ProtoWriter()
  for (const [tag, v] of values) summary.bytes(1, new ProtoWriter().bytes(1, tag).float(2, v))
  return event(wallTime, step).bytes(5, summary).finish()
}

/** SummaryMetadata naming a plugin, with its serialized plugin data. */
function pluginMetadata(plugin: string, content: Uint8Array): ProtoWriter {
  const data = new ProtoWriter().bytes(1, plugin)
  // proto3 leaves empty bytes out (the text plugin's content is empty).
  if (content.length > 0) data.bytes(2, content)
  return new ProtoWriter().bytes(1, data)
}

/** The shape `[]` of a scalar tensor: an empty TensorShapeProto. */
const scalarShape = () => new ProtoWriter()

/** A summary value carrying plugin data and a tensor: how the hparams and text plugins store theirs. */
function pluginEvent(wallTime: number, step: number, tag: string, plugin: string, content: Uint8Array, tensor: ProtoWriter): Uint8Array {
  const value = new ProtoWriter().bytes(1, tag).bytes(8, tensor).bytes(9, pluginMetadata(plugin, content))
  return event(wallTime, step).bytes(5, new ProtoWriter().bytes(1, value)).finish()
}

/** The hparams plugin's placeholder tensor (its summaries carry their data in the metadata): float32 0. */
function nullTensor(): ProtoWriter {
  const zero = new Uint8Array(4)
  return new ProtoWriter().int(1, DT_FLOAT).bytes(2, scalarShape()).bytes(5, zero)
}

/** google.protobuf.Value of a number, string or bool. */
function structValue(v: HParamValue): ProtoWriter {
  const w = new ProtoWriter()
  return typeof v === 'number' ? w.double(2, v) : typeof v === 'string' ? w.bytes(3, v) : w.int(4, v)
}

/** `_hparams_/session_start_info`: this run's hyperparameters, as `hparams.hparams()` writes them. */
export function hparamsStartEvent(wallTime: number, hparams: Readonly<Record<string, HParamValue>>): Uint8Array {
  const start = new ProtoWriter()
  for (const [k, v] of Object.entries(hparams)) start.bytes(1, new ProtoWriter().bytes(1, k).bytes(2, structValue(v)))
  start.double(5, wallTime)
  const data = new ProtoWriter().bytes(3, start)
  return pluginEvent(wallTime, 0, '_hparams_/session_start_info', 'hparams', data.finish(), nullTensor())
}

/** `_hparams_/session_end_info`: how the run ended. */
export function hparamsEndEvent(wallTime: number, step: number, status: number): Uint8Array {
  const data = new ProtoWriter().bytes(4, new ProtoWriter().int(1, status).double(2, wallTime))
  return pluginEvent(wallTime, step, '_hparams_/session_end_info', 'hparams', data.finish(), nullTensor())
}

/** A text-plugin summary (Markdown) under `tag`. */
export function textEvent(wallTime: number, step: number, tag: string, markdown: string): Uint8Array {
  const tensor = new ProtoWriter().int(1, DT_STRING).bytes(2, scalarShape()).bytes(8, markdown)
  return pluginEvent(wallTime, step, tag, 'text', new Uint8Array(0), tensor)
}

/** The step and the summary tags of an encoded event (what a resumed run must not write again). */
export function stepAndTags(event: Uint8Array): { readonly step: number; readonly tags: readonly string[] } {
  let step = 0
  const tags: string[] = []
  for (const f of readFields(event)) {
    if (f.field === 2 && f.int !== undefined) step = Number(BigInt.asIntN(64, f.int))
    else if (f.field === 5 && f.bytes) {
      for (const v of readFields(f.bytes)) {
        if (v.field !== 1 || !v.bytes) continue
        for (const t of readFields(v.bytes)) if (t.field === 1 && t.bytes) tags.push(new TextDecoder().decode(t.bytes))
      }
    }
  }
  return { step, tags }
}
