// The live message list and overview (no inline script: CSP script-src 'self').
// Opens the message feed named by [data-live-feed] and, on each {type:"messages.changed"} (at most
// one a second from the server), re-fetches this page and swaps in the region with the same id;
// never more than once a second, never two fetches at once. Reconnects with a growing delay and
// re-fetches once on reconnecting (changes while away are not replayed: the page is).
(() => {
  const region = document.querySelector("[data-live-feed]");
  if (!region?.id) return;
  const id = region.id;
  let lastFetch = 0;
  let timer = null;
  let inFlight = false;
  let again = false;
  let backoff = 500;
  let connectedOnce = false;

  function swap(html) {
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = template.content.getElementById(id);
    const current = document.getElementById(id);
    if (!fresh || !current) return;
    // The fresh copy's script tags are inert in a template; drop them (this one is running).
    for (const s of fresh.querySelectorAll("script")) s.remove();
    current.replaceWith(fresh);
    fresh.dispatchEvent(new CustomEvent("live:swap", { bubbles: true }));
    document.body.dataset.liveRefreshes = String(Number(document.body.dataset.liveRefreshes ?? 0) + 1);
  }

  function refetch() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    lastFetch = Date.now();
    fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then(swap)
      .catch(() => {})
      .finally(() => {
        inFlight = false;
        if (again) {
          again = false;
          schedule();
        }
      });
  }

  function schedule() {
    if (timer !== null) return;
    const wait = Math.max(0, lastFetch + 1000 - Date.now());
    timer = setTimeout(() => {
      timer = null;
      refetch();
    }, wait);
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${region.dataset.liveFeed}`);
    let ping = null;
    socket.addEventListener("open", () => {
      backoff = 500;
      document.body.dataset.liveFeed = "open";
      if (connectedOnce) schedule();
      connectedOnce = true;
      ping = setInterval(() => socket.readyState === 1 && socket.send("ping"), 25000);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "messages.changed") schedule();
    });
    socket.addEventListener("close", () => {
      clearInterval(ping);
      document.body.dataset.liveFeed = "closed";
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  }
  connect();
})();
