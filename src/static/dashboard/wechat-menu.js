/*
 * The WeChat menu editor's enhancement (CSP-safe: a static file, no inline script). The page is a
 * plain form of fixed slots (button.I, button.I.sub_button.J) that publishes without this file;
 * here the empty slots are hidden behind "add" buttons, each name shows its UTF-8 byte count
 * against WeChat's limit (16 top, 60 sub; a Chinese character is 3), the counts against 3 and 5
 * are shown, and slots move up, down or out by swapping the values of their inputs, so what is
 * posted is still the same form.
 */
(() => {
  const form = document.querySelector("form.menu-editor");
  if (!form) return;
  const label = (name, vars) =>
    (form.dataset[name] || "").replace(/\{(\w+)\}/g, (_, k) =>
      String(vars?.[k] ?? ""),
    );
  const maxTop = Number(form.dataset.maxTop);
  const maxSub = Number(form.dataset.maxSub);
  const encoder = new TextEncoder();

  const topSlots = () => [...form.querySelectorAll("li.menu-slot.top")];
  const subSlots = (top) => [...top.querySelectorAll("li.menu-slot.sub")];
  const prefixOf = (slot) => slot.dataset.slot;
  const fieldsOf = (slot) =>
    [...slot.querySelectorAll("input[name], select[name]")].filter((el) =>
      el.name.startsWith(`${prefixOf(slot)}.`),
    );
  const isEmpty = (slot) =>
    fieldsOf(slot).every((el) => el.value.trim() === "");

  /** Swaps every value of slot `a` with the matching one of slot `b` (same relative name). */
  function swap(a, b) {
    const pa = prefixOf(a);
    const pb = prefixOf(b);
    for (const el of fieldsOf(a)) {
      const other = form.elements.namedItem(pb + el.name.slice(pa.length));
      if (other) [el.value, other.value] = [other.value, el.value];
    }
    // Slots opened by "add" but still empty move with their values too.
    const slots = (slot) => [slot, ...slot.querySelectorAll("li.menu-slot")];
    const bSlots = slots(b);
    slots(a).forEach((slot, k) => {
      const other = bSlots[k];
      if (!other) return;
      const open = slot.dataset.open;
      setOpen(slot, other.dataset.open);
      setOpen(other, open);
    });
  }
  function setOpen(slot, open) {
    if (open) slot.dataset.open = open;
    else delete slot.dataset.open;
  }
  function clear(slot) {
    for (const el of fieldsOf(slot)) el.value = "";
    for (const s of [slot, ...slot.querySelectorAll("li.menu-slot")]) setOpen(s, undefined);
  }
  /** Removes `slot` from its list: the ones after it move up, the last becomes empty. */
  function remove(slot, list) {
    const i = list.indexOf(slot);
    clear(slot);
    for (let k = i; k < list.length - 1; k++) swap(list[k], list[k + 1]);
  }

  function control(text, onClick, className) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `small ${className || "secondary"}`;
    b.textContent = text;
    b.addEventListener("click", () => {
      onClick();
      refresh();
    });
    return b;
  }

  function addControls(slot, list) {
    const bar = document.createElement("div");
    bar.className = "slot-controls";
    bar.append(
      control(label("labelUp"), () => {
        const all = list();
        const i = all.indexOf(slot);
        if (i > 0) swap(all[i - 1], slot);
      }),
      control(label("labelDown"), () => {
        const all = list();
        const i = all.indexOf(slot);
        if (i < all.length - 1 && !isEmpty(all[i + 1])) swap(slot, all[i + 1]);
      }),
      control(label("labelRemove"), () => remove(slot, list()), "danger"),
    );
    slot.querySelector("fieldset").prepend(bar);
  }

  const addTop = control(label("labelAddTop"), () => {
    const next = topSlots().find((s) => s.hidden);
    if (next) next.dataset.open = "1";
  });
  form.querySelector(".menu-slots").after(addTop);
  const addSubs = new Map();

  for (const top of topSlots()) {
    addControls(top, topSlots);
    const subList = top.querySelector("ol.menu-slots.sub");
    for (const sub of subSlots(top)) addControls(sub, () => subSlots(top));
    const add = control(label("labelAddSub"), () => {
      const next = subSlots(top).find((s) => s.hidden);
      if (next) next.dataset.open = "1";
    });
    subList.after(add);
    addSubs.set(top, add);
  }
  for (const input of form.querySelectorAll("input[data-max-bytes]")) {
    const out = form.querySelector(
      `[data-bytes-for="${CSS.escape(input.name)}"]`,
    );
    out?.setAttribute("aria-live", "polite");
  }

  function refresh() {
    const tops = topSlots();
    let shownTop = 0;
    tops.forEach((top, i) => {
      // Shown: a filled slot, one opened by "add", or the first when all are empty.
      const subs = subSlots(top);
      const filled = !isEmpty(top);
      top.hidden = !(filled || top.dataset.open || (i === 0 && shownTop === 0));
      if (!top.hidden) shownTop++;
      let shownSub = 0;
      for (const sub of subs) {
        sub.hidden = !(!isEmpty(sub) || sub.dataset.open);
        if (!sub.hidden) shownSub++;
      }
      const hasSubs = subs.some((s) => !isEmpty(s));
      top.classList.toggle("has-subs", hasSubs);
      const count = form.querySelector(
        `[data-count="${CSS.escape(prefixOf(top))}"]`,
      );
      if (count)
        count.textContent = label("labelCount", { n: shownSub, max: maxSub });
      addSubs.get(top).hidden = top.hidden || shownSub >= maxSub;
    });
    form.querySelector('[data-count="top"]').textContent = label("labelCount", {
      n: shownTop,
      max: maxTop,
    });
    addTop.hidden = shownTop >= maxTop;
    for (const input of form.querySelectorAll("input[data-max-bytes]")) {
      const max = Number(input.dataset.maxBytes);
      const n = encoder.encode(input.value).length;
      const out = form.querySelector(
        `[data-bytes-for="${CSS.escape(input.name)}"]`,
      );
      if (out) {
        out.textContent = label("labelBytes", { n, max });
        out.classList.toggle("over", n > max);
      }
      input.setAttribute("aria-invalid", n > max ? "true" : "false");
    }
    for (const select of form.querySelectorAll('select[name$=".type"]')) {
      const fields = select.closest(".menu-fields");
      const mini = select.value === "miniprogram";
      for (const f of fields.querySelectorAll(
        '[data-field="appid"], [data-field="pagepath"]',
      )) {
        f.hidden = !mini;
      }
      const value = fields.querySelector('[data-field="value"]');
      if (value) value.hidden = select.value === "";
    }
  }

  form.addEventListener("input", refresh);
  form.addEventListener("change", refresh);
  form.classList.add("enhanced");
  refresh();
})();
