// The one error every safetensors failure becomes: it names the file and what is wrong with it.
import * as Data from 'effect/Data'

export class SafetensorsError extends Data.TaggedError('SafetensorsError')<{
  readonly file: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}
