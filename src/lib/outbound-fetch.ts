/**
 * Every call we make to a carrier or to WeChat goes through `fetchNoRedirect`, which never follows
 * a redirect. A `base_url` (or an app's `api_base_url`) is checked against the URL rules when it
 * is set; a redirect from there could lead anywhere, and a 307 or 308 repeats the request with its
 * body and credentials (a live SMS, an AppSecret). So a 3xx is an error naming the status and
 * where it pointed, and the caller turns it into a permanent failure of its own kind.
 */

export type Fetch = (request: Request) => Promise<Response>;

export class RedirectRefusedError extends Error {
  override name = "RedirectRefusedError";

  constructor(
    readonly status: number,
    /** The redirect's target, origin and path only: its query may echo a token or a secret. */
    readonly location: string | null,
  ) {
    super(
      `answered with a redirect (HTTP ${status} to ${location ?? "no Location"}), which is not followed`,
    );
  }
}

/** `fetch(request)`, with redirects not followed: a 3xx throws `RedirectRefusedError`. */
export async function fetchNoRedirect(fetch: Fetch, request: Request): Promise<Response> {
  const response = await fetch(new Request(request, { redirect: "manual" }));
  if (response.status < 300 || response.status >= 400) {
    return response;
  }
  // The body is not read; cancelling it frees the connection.
  await response.body?.cancel().catch(() => undefined);
  throw new RedirectRefusedError(
    response.status,
    targetOf(response.headers.get("location"), request.url),
  );
}

function targetOf(location: string | null, base: string): string | null {
  if (location === null) {
    return null;
  }
  try {
    const url = new URL(location, base);
    return `${url.origin}${url.pathname}`.slice(0, 200);
  } catch {
    return "(an unreadable Location)";
  }
}

/**
 * The Worker's own way out to the network, for the outbound I/O defaults: a request leaves with
 * `redirect: "manual"` whatever its maker set, so no call can follow a redirect by forgetting.
 */
export const networkFetch: Fetch = (request) => fetch(new Request(request, { redirect: "manual" }));
