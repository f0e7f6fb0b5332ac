/**
 * A multipart/form-data body read as a stream: the small fields before the file are read whole,
 * the file part itself is handed on as a stream of its bytes, never held (only up to one
 * delimiter's length of it is kept back, in case the delimiter straddles two chunks). The file
 * must be the last part: a part after it makes the file's stream error.
 */

const CRLF = new Uint8Array([13, 10]);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class MultipartError extends Error {}

export interface MultipartFile {
  /** The part's form name (`file`). */
  name: string;
  filename: string;
  contentType: string | null;
  /** The bytes of the body read before the file's first byte (preamble, fields, part headers). */
  offset: number;
  stream: ReadableStream<Uint8Array>;
}

export interface MultipartHead {
  fields: Map<string, string>;
  file: MultipartFile | null;
}

/** The boundary of a multipart/form-data Content-Type, or null. */
export function boundaryOf(contentType: string | null | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) {
    return null;
  }
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^;\s]{1,70}))/i.exec(contentType);
  return match?.[1] ?? match?.[2] ?? null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = from; i <= last; i++) {
    if (haystack[i] !== first) {
      continue;
    }
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) {
        continue outer;
      }
    }
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) {
    return b;
  }
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Reads a body's chunks on demand into a buffer that is consumed from the front. */
class Buffered {
  buffer: Uint8Array = new Uint8Array(0);
  consumed = 0;
  done = false;
  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async more(): Promise<boolean> {
    if (this.done) {
      return false;
    }
    const { value, done } = await this.reader.read();
    if (done) {
      this.done = true;
      return false;
    }
    this.buffer = concat(this.buffer, value);
    return true;
  }

  take(n: number): Uint8Array {
    const taken = this.buffer.slice(0, n);
    this.buffer = this.buffer.subarray(n);
    this.consumed += n;
    return taken;
  }

  /** Everything before `needle` (consumed with it), reading up to `max` bytes for it. */
  async until(needle: Uint8Array, max: number, what: string): Promise<Uint8Array> {
    for (;;) {
      const at = indexOf(this.buffer, needle);
      if (at >= 0) {
        const before = this.take(at);
        this.take(needle.length);
        return before;
      }
      if (this.buffer.length > max + needle.length) {
        throw new MultipartError(`${what} is longer than ${max} bytes`);
      }
      if (!(await this.more())) {
        throw new MultipartError(`the body ends inside ${what}`);
      }
    }
  }

  async atLeast(n: number): Promise<boolean> {
    while (this.buffer.length < n) {
      if (!(await this.more())) {
        return false;
      }
    }
    return true;
  }
}

function headersOf(block: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of decoder.decode(block).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
  }
  return headers;
}

function dispositionParam(disposition: string, param: string): string | null {
  const match = new RegExp(`;\\s*${param}="([^"]*)"`, "i").exec(disposition);
  return match?.[1] ?? null;
}

/**
 * Reads `body` up to its file part: the fields before it (each at most `maxFieldBytes`) and the
 * file as a stream. Malformed framing is a MultipartError (here, or from the file's stream).
 */
export async function readMultipartHead(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  maxFieldBytes = 4096,
): Promise<MultipartHead> {
  const input = new Buffered(body.getReader());
  const delimiter = encoder.encode(`--${boundary}`);
  const innerDelimiter = concat(CRLF, delimiter);
  const fields = new Map<string, string>();
  // The preamble, before the first delimiter (usually empty).
  await input.until(delimiter, 1024, "the preamble");
  for (;;) {
    if (!(await input.atLeast(2))) {
      throw new MultipartError("the body ends after a delimiter");
    }
    const after = input.take(2);
    if (after[0] === 45 && after[1] === 45) {
      return { fields, file: null };
    }
    if (after[0] !== 13 || after[1] !== 10) {
      throw new MultipartError("a delimiter is not followed by a line break");
    }
    const headers = headersOf(
      await input.until(encoder.encode("\r\n\r\n"), 8192, "a part's headers"),
    );
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    if (name === null) {
      throw new MultipartError("a part has no name");
    }
    const filename = dispositionParam(disposition, "filename");
    if (filename === null) {
      const value = await input.until(innerDelimiter, maxFieldBytes, `the field ${name}`);
      fields.set(name, decoder.decode(value));
      continue;
    }
    return {
      fields,
      file: {
        name,
        filename,
        contentType: headers.get("content-type") ?? null,
        offset: input.consumed,
        stream: fileStream(input, innerDelimiter),
      },
    };
  }
}

/** The file part's bytes, up to the delimiter after it, which must close the body. */
function fileStream(input: Buffered, delimiter: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const at = indexOf(input.buffer, delimiter);
        if (at >= 0) {
          if (at > 0) {
            controller.enqueue(input.take(at));
          }
          input.take(delimiter.length);
          if (!(await input.atLeast(2))) {
            throw new MultipartError("the body ends after the file's delimiter");
          }
          const after = input.take(2);
          if (after[0] !== 45 || after[1] !== 45) {
            throw new MultipartError("the file must be the form's last part");
          }
          controller.close();
          return;
        }
        // Keep back what could be the start of the delimiter.
        const safe = input.buffer.length - (delimiter.length - 1);
        if (safe > 0) {
          controller.enqueue(input.take(safe));
          return;
        }
        if (!(await input.more())) {
          throw new MultipartError("the body ends inside the file");
        }
      }
    },
  });
}

/**
 * `stream` with its bytes counted: it errors with `onOver()`'s error once more than `max` have
 * passed, and `counted()` says how many did.
 */
export function countedStream(
  stream: ReadableStream<Uint8Array>,
  max: number,
  onOver: () => Error,
): { stream: ReadableStream<Uint8Array>; counted: () => number } {
  let count = 0;
  const counter = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      count += chunk.length;
      if (count > max) {
        controller.error(onOver());
        return;
      }
      controller.enqueue(chunk);
    },
  });
  return { stream: stream.pipeThrough(counter), counted: () => count };
}
