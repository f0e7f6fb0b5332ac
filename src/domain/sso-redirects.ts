/**
 * Where sign-in with WeChat may send a person back: exact URLs the tenant lists per app. https
 * only, except plain http on the loopback host names (127.0.0.1, localhost) for local development;
 * no user name or password, no fragment (the token goes in the query). Matching is exact, string
 * for string, so nothing can be appended to a listed URL and no other path on its host passes.
 */

/** At most this many URLs per app; each at most this long. */
export const MAX_SSO_REDIRECT_URLS = 20;
export const MAX_SSO_REDIRECT_URL_LENGTH = 2000;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost"]);

/** Why `url` cannot be listed, or null when it can. */
export function ssoRedirectProblem(url: string): string | null {
  if (url.length > MAX_SSO_REDIRECT_URL_LENGTH) {
    return `is longer than ${MAX_SSO_REDIRECT_URL_LENGTH} characters`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.href !== url) {
    // Listed as the browser will send it, so that matching exactly is matching what is meant.
    return `is not in its normal form (${parsed.href})`;
  }
  const loopback = parsed.protocol === "http:" && LOOPBACK_HOSTS.has(parsed.hostname);
  if (parsed.protocol !== "https:" && !loopback) {
    return "must be https (plain http only on 127.0.0.1 or localhost)";
  }
  if (parsed.username !== "" || parsed.password !== "") {
    return "must not carry a user name or password";
  }
  if (parsed.hash !== "") {
    return "must not have a fragment";
  }
  return null;
}

/** Whether `redirect` is one of `listed`, exactly. */
export function isListedRedirect(listed: readonly string[], redirect: string): boolean {
  return listed.includes(redirect);
}
