/**
 * The platform admin's key (`rbx_platform_…`) for `/v1/platform/*`: compared with the PLATFORM_KEY
 * secret as SHA-256 digests in constant time, so neither the key's length nor how much of it
 * matches shows in the timing. With no PLATFORM_KEY set, every request is refused. Tenant keys
 * never pass here, and the platform key passes nowhere else (middleware/api-key refuses it).
 */
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { settingsOf } from "../config/settings";
import { sha256Hex, timingSafeEqual } from "../lib/crypto";
import { ApiError } from "../lib/problem";

export const PLATFORM_KEY_PREFIX = "rbx_platform_";

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

const CHALLENGE = 'Bearer realm="relaybox-platform"';

export const requirePlatformKey = createMiddleware<AppEnv>(async (c, next) => {
  const presented = BEARER.exec(c.req.header("authorization") ?? "")?.[1];
  if (!presented) {
    throw new ApiError(
      "unauthenticated",
      "Send the platform key as `Authorization: Bearer rbx_platform_…`.",
      { headers: { "WWW-Authenticate": CHALLENGE } },
    );
  }
  const secret = settingsOf(c.env).PLATFORM_KEY;
  // Both sides hashed: equal lengths, so the comparison takes the same time whatever was sent.
  const matches =
    secret !== undefined && timingSafeEqual(await sha256Hex(presented), await sha256Hex(secret));
  if (!matches) {
    throw new ApiError(
      "unauthenticated",
      presented.startsWith(PLATFORM_KEY_PREFIX)
        ? "This platform key is not valid."
        : "The platform routes take only the platform key (rbx_platform_…), not a tenant's API key.",
      { headers: { "WWW-Authenticate": `${CHALLENGE}, error="invalid_token"` } },
    );
  }
  await next();
});
