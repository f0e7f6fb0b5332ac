// The service desk's live client (no inline script: CSP script-src 'self').
// Opens the desk's WebSocket (#desk[data-live]), re-fetches the workspace's fragments as events
// arrive (fetched and swapped, at most once a second per fragment), reconnects with ?after=<last seq> so nothing is
// missed or shown twice, and reloads on {type:"reset"}. Also fills the reply from the canned
// reply picker and counts the WeChat window down.
(() => {
  const root = document.getElementById("desk");
  if (!root) return;
  const state = document.getElementById("desk-live-state");
  const lang = document.documentElement.lang || "en";
  const words = lang.startsWith("zh")
    ? { on: "实时更新：已连接", off: "实时更新：重新连接中…" }
    : { on: "Live updates: connected", off: "Live updates: reconnecting…" };
  let lastSeq = null;
  let backoff = 500;
  const due = new Map();

  function refresh(id, url) {
    if (due.has(id)) return;
    const wait = Math.max(0, (refresh.last?.[id] ?? 0) + 1000 - Date.now());
    due.set(
      id,
      setTimeout(() => {
        due.delete(id);
        refresh.last = { ...(refresh.last ?? {}), [id]: Date.now() };
        const target = document.getElementById(id);
        if (!target) return;
        const open = document.getElementById("desk-thread")?.dataset.conversation ?? "";
        const q = new URLSearchParams(window.location.search);
        if (open) q.set("c", open);
        fetch(`${url}?${q}`, { credentials: "same-origin" })
          .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
          .then((html) => {
            const template = document.createElement("template");
            template.innerHTML = html;
            const fresh = template.content.getElementById(id);
            const current = document.getElementById(id);
            if (!fresh || !current) return;
            // What the agent is typing survives the refresh.
            const typing = current.querySelector("#desk-body")?.value;
            current.replaceWith(fresh);
            const box = fresh.querySelector("#desk-body");
            if (box && typing) box.value = typing;
          })
          .catch(() => {});
      }, wait),
    );
  }

  function onEvent(event) {
    if (root.dataset.reload) {
      // The supervisor's page: reload the whole view, coalesced.
      if (!due.has("page")) due.set("page", setTimeout(() => window.location.reload(), 1000));
      return;
    }
    const open = document.getElementById("desk-thread")?.dataset.conversation ?? "";
    if (event.type === "conversation.state" || event.type === "agent.updated") {
      refresh("desk-lists", root.dataset.lists);
    }
    if (event.type === "message.received" || event.type === "message.sent") {
      refresh("desk-lists", root.dataset.lists);
    }
    if (open && event.conversation_id === open) {
      refresh("desk-thread", root.dataset.thread);
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const after = lastSeq === null ? "" : `?after=${lastSeq}`;
    const socket = new WebSocket(`${scheme}//${window.location.host}${root.dataset.live}${after}`);
    let ping = null;
    socket.addEventListener("open", () => {
      backoff = 500;
      if (state) state.textContent = words.on;
      document.body.dataset.deskLive = "open";
      ping = setInterval(() => socket.readyState === 1 && socket.send("ping"), 25000);
    });
    socket.addEventListener("message", (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "reset") {
        window.location.reload();
        return;
      }
      if (event.type === "hello" || event.type === "pong") {
        if (lastSeq === null) lastSeq = event.seq;
        return;
      }
      if (typeof event.seq === "number") {
        if (lastSeq !== null && event.seq <= lastSeq) return;
        lastSeq = event.seq;
      }
      document.body.dataset.deskSeq = String(lastSeq);
      onEvent(event);
    });
    socket.addEventListener("close", () => {
      clearInterval(ping);
      document.body.dataset.deskLive = "closed";
      if (state) state.textContent = words.off;
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 10000);
    });
  }
  connect();

  // The canned reply picker fills the reply box.
  document.addEventListener("change", (e) => {
    const select = e.target;
    if (!(select instanceof HTMLSelectElement) || !select.dataset.cannedPicker) return;
    const box = document.getElementById(select.dataset.cannedPicker);
    const body = select.selectedOptions[0]?.dataset.body;
    if (box && body) {
      box.value = body;
      box.focus();
    }
  });

  // The WeChat window's countdown.
  setInterval(() => {
    for (const el of document.querySelectorAll("time.countdown[data-expires]")) {
      const left = Math.max(0, Number(el.dataset.expires) - Date.now());
      const h = Math.floor(left / 3600000);
      const m = Math.floor((left % 3600000) / 60000);
      const s = Math.floor((left % 60000) / 1000);
      el.textContent = `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    }
  }, 1000);
})();
