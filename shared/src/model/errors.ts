/** Thrown by the model loaders when a model directory or one of its files is missing or unusable. */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
