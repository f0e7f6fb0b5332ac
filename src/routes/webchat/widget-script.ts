/**
 * The embeddable widget, served as `/webchat.js`. A page embeds it with one tag:
 * `<script src="https://<relaybox>/webchat.js" data-key="wk_…" async></script>` (optionally
 * `data-token="<JWT signed by the site>"` for a signed-in visitor, or
 * `window.RelayboxWebchat.identify(token)` before it loads). It keeps a random visitor id in
 * localStorage, opens `wss://<relaybox>/webchat/connect`, reconnects with backoff, and shows the
 * conversation in a small panel. Plain ES2017, no dependencies; every text node is set with
 * textContent (no HTML from the network is ever parsed).
 */
export const WIDGET_SCRIPT = String.raw`(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__relayboxWebchat) { return; }
  window.__relayboxWebchat = true;
  var key = script.getAttribute("data-key") || "";
  var base = new URL(script.src, location.href);
  var wsBase = (base.protocol === "https:" ? "wss:" : "ws:") + "//" + base.host;
  var pending = window.RelayboxWebchat && window.RelayboxWebchat.token;
  var token = script.getAttribute("data-token") || pending || null;
  var STORE = "relaybox_webchat_visitor";
  var visitor = null;
  try { visitor = localStorage.getItem(STORE); } catch (e) { visitor = null; }
  if (!visitor || !/^[A-Za-z0-9_-]{8,64}$/.test(visitor)) {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    visitor = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    try { localStorage.setItem(STORE, visitor); } catch (e) { /* private mode: one visit */ }
  }
  var root = document.createElement("div");
  root.setAttribute("data-relaybox-webchat", "");
  root.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;font:14px/1.4 system-ui,sans-serif";
  var toggle = document.createElement("button");
  toggle.type = "button";
  toggle.textContent = script.getAttribute("data-label") || "Chat";
  toggle.style.cssText = "border:0;border-radius:20px;padding:10px 16px;background:#2563eb;color:#fff;cursor:pointer";
  var panel = document.createElement("div");
  panel.style.cssText = "display:none;width:300px;height:380px;background:#fff;border:1px solid #ccc;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15);flex-direction:column;margin-bottom:8px";
  var log = document.createElement("div");
  log.setAttribute("data-relaybox-log", "");
  log.style.cssText = "flex:1;overflow-y:auto;padding:8px";
  var status = document.createElement("div");
  status.setAttribute("data-relaybox-status", "");
  status.style.cssText = "font-size:12px;color:#666;padding:0 8px";
  var form = document.createElement("form");
  form.style.cssText = "display:flex;border-top:1px solid #eee";
  var input = document.createElement("input");
  input.setAttribute("aria-label", "Message");
  input.maxLength = 4000;
  input.style.cssText = "flex:1;border:0;padding:8px";
  var send = document.createElement("button");
  send.type = "submit";
  send.textContent = script.getAttribute("data-send-label") || "Send";
  send.style.cssText = "border:0;background:#2563eb;color:#fff;padding:8px 12px";
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(log); panel.appendChild(status); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(toggle);
  function mount() { document.body.appendChild(root); }
  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
  toggle.addEventListener("click", function () {
    panel.style.display = panel.style.display === "none" ? "flex" : "none";
    if (panel.style.display === "flex") { input.focus(); }
  });
  var seen = {};
  function show(from, body, id) {
    if (id) { if (seen[id]) { return; } seen[id] = true; }
    var line = document.createElement("div");
    line.setAttribute("data-from", from);
    line.style.cssText = "margin:4px 0;padding:6px 8px;border-radius:6px;max-width:85%;" +
      (from === "visitor" ? "background:#dbeafe;margin-left:auto" : "background:#f3f4f6");
    line.textContent = body;
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }
  var socket = null, delay = 500, outbox = [], counter = 0;
  function connect() {
    var url = wsBase + "/webchat/connect?key=" + encodeURIComponent(key) +
      (token ? "&token=" + encodeURIComponent(token) : "&visitor=" + encodeURIComponent(visitor));
    socket = new WebSocket(url);
    socket.onopen = function () {
      delay = 500;
      status.textContent = "";
      outbox.forEach(function (m) { socket.send(JSON.stringify(m)); });
    };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      if (data.type === "message") { show(data.from, data.body, data.id); }
      else if (data.type === "received") {
        outbox = outbox.filter(function (m) { return m.id !== data.id; });
      } else if (data.type === "error") {
        status.textContent = data.status === 429 ? "Too many messages: wait a minute." : String(data.detail || "");
        outbox = outbox.filter(function (m) { return m.id !== data.id; });
      }
    };
    socket.onclose = function () {
      socket = null;
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    counter += 1;
    var message = { type: "message", id: Date.now().toString(36) + "-" + counter, text: text };
    outbox.push(message);
    show("visitor", text, null);
    if (socket && socket.readyState === 1) { socket.send(JSON.stringify(message)); }
  });
  window.RelayboxWebchat = {
    identify: function (t) { token = t; if (socket) { socket.close(); } },
    open: function () { panel.style.display = "flex"; }
  };
  connect();
})();
`;
