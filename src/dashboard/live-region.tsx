/**
 * A region of a page that follows the tenant's messages live (the message list, the overview):
 * live-list.js opens the message feed (`/dashboard/live/messages`: `messages.changed` at most once
 * a second) and re-fetches the page, swapping in this region only. Without script the page is
 * the same, refreshed by hand.
 */
import type { Child } from "hono/jsx";

export const LIVE_FEED = "/dashboard/live/messages";
export const LIVE_SCRIPT = "/dashboard/live-list.js";

export function LiveRegion(props: { id: string; children?: Child }) {
  return (
    <>
      <div id={props.id} data-live-feed={LIVE_FEED}>
        {props.children}
      </div>
      <script src={LIVE_SCRIPT} defer />
    </>
  );
}
