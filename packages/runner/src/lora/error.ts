import * as Data from 'effect/Data'

/** A LoRA configuration, injection or adapter file that cannot be used; `source` names the config/file/folder. */
export class LoraError extends Data.TaggedError('LoraError')<{ readonly source: string; readonly reason: string }> {
  override get message(): string {
    return `${this.source}: ${this.reason}`
  }
}
