import { exports } from "cloudflare:workers";
import { type Fetch, networkFetch } from "./outbound-fetch";

/**
 * A fetch that serves requests to this Worker's own public origin through the Worker's own fetch
 * handler, in process, and sends everything else out. A Worker cannot count on reaching itself
 * over the network (Cloudflare does not loop a Worker's fetch back to its own route, and tests
 * have no network), and Durable Objects cannot import the app: this is how the WeChat client and
 * the token authority reach an API served here, such as the local WeChat sandbox. Everything
 * else leaves through `networkFetch`, which never follows a redirect.
 */
export function ownOriginFetch(publicBaseUrl: string): Fetch {
  const origin = new URL(publicBaseUrl).origin;
  return (request) =>
    new URL(request.url).origin === origin ? exports.default.fetch(request) : networkFetch(request);
}
