/**
 * Web chat's rules (the `webchat` channel): who a visitor is in a conversation (the counterpart),
 * which page origins a widget key accepts, and the visitors' limits. Pure.
 */

/** A visitor's own random id, kept in the browser's localStorage. */
export const VISITOR_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** A widget key as it appears in the page's script tag. */
export const WIDGET_KEY = /^wk_[0-9A-Za-z]{20,40}$/;

/**
 * The conversation's counterpart: an identified visitor is the tenant's own user id (`user:<sub>`,
 * the same conversation on any device), an anonymous one its browser's id (`visitor:<id>`).
 */
export function counterpartOf(visitor: { sub: string } | { visitorId: string }): string {
  return "sub" in visitor ? `user:${visitor.sub}` : `visitor:${visitor.visitorId}`;
}

/** `scheme://host[:port]` as browsers send it in `Origin`, or null when the text is none. */
export function originOf(text: string): string | null {
  try {
    const url = new URL(text);
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.origin === "null") {
      return null;
    }
    return url.origin;
  } catch {
    return null;
  }
}

/** Whether a page at `origin` (the request's Origin header) may use a key allowing `allowed`. */
export function originAllowed(
  allowed: readonly string[],
  origin: string | null | undefined,
): boolean {
  if (!origin) {
    return false;
  }
  const exact = originOf(origin);
  return exact !== null && exact === origin && allowed.includes(exact);
}

/** The limits: per visitor and per page origin, in a sliding minute. */
export const WEBCHAT_LIMITS = {
  visitorMessagesPerMinute: 20,
  originMessagesPerMinute: 600,
  originConnectsPerMinute: 120,
} as const;

/** A fixed-window counter's decision: the window's start and whether one more fits. */
export function windowAllows(
  count: number,
  limit: number,
): { allowed: boolean; retryAfterSeconds: number } {
  return { allowed: count < limit, retryAfterSeconds: 60 };
}
