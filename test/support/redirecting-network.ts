/**
 * A fake network of hosts that follows redirects as `fetch` does, unless the request says
 * `redirect: "manual"`: a test can then see whether a redirect would have been followed, and what
 * the host at its end would have received.
 */
export type Fetch = (request: Request) => Promise<Response>;
type Host = (request: Request) => Response | Promise<Response>;

/** Redirects a fetch follows before it gives up (the Fetch standard's limit). */
const MAX_REDIRECTS = 20;

export function fakeNetwork(hosts: Record<string, Host>) {
  const received: { host: string; method: string; url: string; body: string }[] = [];
  const fetch: Fetch = async (request) => {
    let current = request;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const url = new URL(current.url);
      received.push({
        host: url.host,
        method: current.method,
        url: current.url,
        body: await current.clone().text(),
      });
      const host = hosts[url.host];
      if (!host) {
        throw new TypeError(`fake network: no host ${url.host}`);
      }
      const response = await host(current.clone());
      const location = response.headers.get("location");
      const redirected = response.status >= 300 && response.status < 400 && location !== null;
      if (!redirected || current.redirect === "manual") {
        return response;
      }
      // 307 and 308 repeat the method and the body, which is how a redirect carries a message and
      // its credentials to wherever it points.
      current = new Request(new URL(location, url), current);
    }
    throw new TypeError("fake network: too many redirects");
  };
  return {
    fetch,
    /** Every request each host received, in order. */
    receivedBy: (host: string) => received.filter((r) => r.host === host),
  };
}

/** A host that answers every request with a 307 to `target` (same path and query). */
export function redirectingTo(target: string): Host {
  return (request) => {
    const url = new URL(request.url);
    return new Response(null, {
      status: 307,
      headers: { location: `${target}${url.pathname}${url.search}` },
    });
  };
}
