import type { MiddlewareHandler } from "hono";
import { ApiError } from "../lib/problem";

export const ONE_MB = 1024 * 1024;

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "payload-too-large",
    `The request body is over the ${maxBytes / ONE_MB} MB limit for this endpoint.`,
  );
}

/**
 * Refuses bodies over `maxBytes` with 413: at once when Content-Length says so, else (no length:
 * a chunked body) as the bytes are read. The count is pulled with the reading, never ahead of it
 * (hono's bodyLimit reads such a body whole into the stream's queue), so a handler that streams the
 * body on (a media upload) holds no more of it than it reads.
 */
export function limitBody(maxBytes: number): MiddlewareHandler {
  return async (c, next) => {
    const body = c.req.raw.body;
    if (!body) {
      return next();
    }
    const declared = c.req.header("content-length");
    if (declared !== undefined && !c.req.header("transfer-encoding")) {
      // workerd holds a body to its Content-Length: the declared length is the length.
      if (Number(declared) > maxBytes) {
        throw tooLarge(maxBytes);
      }
      return next();
    }
    let size = 0;
    let over = false;
    const reader = body.getReader();
    const counted = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        size += value.length;
        if (size > maxBytes) {
          over = true;
          controller.error(tooLarge(maxBytes));
          await reader.cancel().catch(() => undefined);
          return;
        }
        controller.enqueue(value);
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
    c.req.raw = new Request(c.req.raw, { body: counted, duplex: "half" } as RequestInit);
    await next();
    if (over) {
      throw tooLarge(maxBytes);
    }
  };
}
