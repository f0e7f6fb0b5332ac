import { bodyLimit } from "hono/body-limit";
import { ApiError } from "../lib/problem";

export const ONE_MB = 1024 * 1024;

/** Refuses bodies over `maxBytes` with 413 (also when Content-Length is absent or lies). */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError(
        "payload-too-large",
        `The request body is over the ${maxBytes / ONE_MB} MB limit for this endpoint.`,
      );
    },
  });
}
