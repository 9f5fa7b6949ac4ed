import { Data } from 'effect'

/** A model that cannot be built, loaded, saved or run as asked; `source` names the folder/file/model. */
export class ModelError extends Data.TaggedError('ModelError')<{ readonly source: string; readonly reason: string }> {
  override get message(): string {
    return `${this.source}: ${this.reason}`
  }
}
