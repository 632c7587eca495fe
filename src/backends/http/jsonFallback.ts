/**
 * Constrained JSON generation on a server, with a one-time fallback: ask with the JSON schema
 * (Ollama's `format`, OpenAI-compatible `response_format`); when the server rejects the
 * schema (HTTP 400 naming the field), ask for plain JSON mode instead, from then on for this
 * backend's life, and say so once through `warn`. Answers stay validated by the caller.
 */
import { RequestRejectedError } from "./errors.js";

export interface JsonFallbackOptions {
  /** The request field the schema goes in, as servers name it in their errors (e.g. /format/i). */
  field: RegExp;
  /** The warning, given the rejection (one line). */
  warning: (err: RequestRejectedError) => string;
  warn: (message: string) => void;
}

export class JsonSchemaFallback {
  private mode: "schema" | "json" = "schema";

  constructor(private readonly opts: JsonFallbackOptions) {}

  /** `withSchema()` until the server rejects the schema once, then `plainJson()`. */
  async generate<T>(withSchema: () => Promise<T>, plainJson: () => Promise<T>): Promise<T> {
    if (this.mode === "schema") {
      try {
        return await withSchema();
      } catch (err) {
        if (!(err instanceof RequestRejectedError && err.status === 400 && this.opts.field.test(err.message)))
          throw err;
        if (this.mode === "schema") {
          this.mode = "json";
          this.opts.warn(this.opts.warning(err));
        }
      }
    }
    return plainJson();
  }
}
