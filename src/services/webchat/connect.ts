/**
 * A visitor's web chat socket (`GET /webchat/connect?key=wk_…&visitor=…&token=…`): the widget key
 * names the tenant, the page's `Origin` must be one the key allows, and the visitor is either
 * anonymous (its browser's random id) or identified by a token the tenant's site signed with the
 * key's secret (HS256 JWT with `sub`, `exp`, optional `name`, checked with jose). Then the upgrade
 * goes to the tenant's hub (durable-objects/webchat), which a key can reach for its tenant only.
 */
import { errors as joseErrors, jwtVerify } from "jose";
import { masterKeysOf } from "../../config/settings";
import { type VisitorSocket, webchatOf } from "../../delivery/webchat";
import { counterpartOf, originAllowed, VISITOR_ID, WIDGET_KEY } from "../../domain/webchat";
import { ApiError } from "../../lib/problem";
import { decryptSecret } from "../../lib/secrets";
import { liveWidgetKey, type WidgetKeyRow } from "./widget-keys";

export interface ConnectParams {
  key: string | undefined;
  visitor: string | undefined;
  token: string | undefined;
}

/** Who a token says the visitor is; a bad token is a 401 saying why. */
export async function verifyVisitorToken(
  env: Env,
  key: WidgetKeyRow,
  token: string,
  now: number = Date.now(),
): Promise<{ sub: string; name: string | null }> {
  const secret = await decryptSecret(
    masterKeysOf(env),
    "webchat-identity-secret",
    key.secretCiphertext,
  );
  try {
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), {
      algorithms: ["HS256"],
      requiredClaims: ["sub", "exp"],
      currentDate: new Date(now),
      clockTolerance: 30,
    });
    const sub = payload.sub ?? "";
    if (!/^[\w.@:+-]{1,128}$/.test(sub)) {
      throw new ApiError(
        "unauthenticated",
        "The token's sub must be 1-128 of A-Z a-z 0-9 _ . @ : + -.",
      );
    }
    const name = typeof payload.name === "string" ? payload.name.slice(0, 100) : null;
    return { sub, name };
  } catch (error) {
    if (error instanceof ApiError) {
      throw error;
    }
    const why =
      error instanceof joseErrors.JWTExpired
        ? "it has expired"
        : error instanceof joseErrors.JWSSignatureVerificationFailed
          ? "its signature does not verify with this widget key's secret"
          : error instanceof joseErrors.JWTClaimValidationFailed
            ? `its claim ${error.claim} is missing or wrong`
            : "it is not an HS256 JWT";
    throw new ApiError("unauthenticated", `The visitor token was refused: ${why}.`);
  }
}

/** Checks the request and opens the socket with the tenant's hub. */
export async function connectVisitor(
  env: Env,
  request: Request,
  params: ConnectParams,
  now: number = Date.now(),
): Promise<Response> {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError("validation-error", "This is a WebSocket: send `Upgrade: websocket`.");
  }
  if (params.key === undefined || !WIDGET_KEY.test(params.key)) {
    throw new ApiError("validation-error", "key must be a widget key (wk_…).", {
      errors: [{ pointer: "/query/key", detail: "a widget key: wk_ and 20-40 letters or digits" }],
    });
  }
  const key = await liveWidgetKey(env, params.key, now);
  if (!key) {
    throw new ApiError("not-found", "No such widget key.");
  }
  const origin = request.headers.get("Origin");
  if (!originAllowed(key.allowedOrigins, origin) || origin === null) {
    throw new ApiError(
      "forbidden",
      `This widget key is not for pages at ${origin ?? "(no Origin)"}: add the origin to its allowed_origins.`,
    );
  }
  let visitor: VisitorSocket;
  if (params.token !== undefined) {
    const who = await verifyVisitorToken(env, key, params.token, now);
    visitor = {
      tenantId: key.tenantId,
      keyId: key.id,
      origin,
      counterpart: counterpartOf({ sub: who.sub }),
      name: who.name,
    };
  } else {
    if (params.visitor === undefined || !VISITOR_ID.test(params.visitor)) {
      throw new ApiError("validation-error", "visitor must be the browser's visitor id.", {
        errors: [{ pointer: "/query/visitor", detail: "8-64 of A-Z a-z 0-9 _ -" }],
      });
    }
    visitor = {
      tenantId: key.tenantId,
      keyId: key.id,
      origin,
      counterpart: counterpartOf({ visitorId: params.visitor }),
      name: null,
    };
  }
  const hub = webchatOf(env, key.tenantId);
  if (!(await hub.admit(origin, now))) {
    throw new ApiError("rate-limited", `Too many connections from ${origin}: wait a minute.`, {
      headers: { "Retry-After": "60" },
    });
  }
  const headers = new Headers(request.headers);
  headers.set("X-Webchat-Visitor", JSON.stringify(visitor));
  return hub.fetch("https://webchat/connect", { headers });
}
