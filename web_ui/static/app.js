/* Lotse – shared browser code of all pages (vanilla JS, no build step).
   Exposes one global object `Lotse` with: DOM helper, API client (CSRF header, German errors,
   session expiry), page header with role-based navigation, live announcements, text rendering
   with citation buttons, and the source side panel. */
(function () {
  "use strict";

  const ROLE_LABELS = {
    sachbearbeitung: "Sachbearbeitung",
    pruefung: "Prüfung",
    schulung: "Schulung",
    administration: "Administration",
  };

  // navigation entries; roles: null = every logged-in user
  const NAV = [
    { page: "chat", href: "/", label: "Fragen", roles: null },
    { page: "letters", href: "/schreiben", label: "Schreiben", roles: ["sachbearbeitung", "pruefung"] },
    { page: "training", href: "/schulung", label: "Schulung", roles: null },
    { page: "report", href: "/bericht", label: "Bericht", roles: ["administration", "schulung"] },
    { page: "admin", href: "/verwaltung", label: "Verwaltung", roles: ["administration"] },
  ];

  const STATUS_TEXT = {
    400: "Die Anfrage war ungültig.",
    403: "Dafür fehlt Ihnen die Berechtigung.",
    404: "Das wurde nicht gefunden.",
    409: "Die Daten wurden inzwischen geändert. Bitte laden Sie neu.",
    413: "Die Datei ist zu groß.",
    422: "Die Eingaben sind unvollständig oder ungültig.",
    429: "Zu viele Anfragen. Bitte warten Sie einen Moment.",
    500: "Auf dem Server ist ein Fehler aufgetreten. Bitte versuchen Sie es später erneut.",
    501: "Diese Funktion ist nicht verfügbar.",
    502: "Ein angebundenes System hat die Anfrage abgelehnt.",
    503: "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.",
  };
  const SESSION_EXPIRED = "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich neu an.";
  const OFFLINE = "Der Server ist nicht erreichbar. Bitte prüfen Sie Ihre Verbindung und versuchen Sie es erneut.";

  const state = { me: null, sessionExpired: false };

  // ---------------------------------------------------------------- DOM helper
  /** el("button", {class: "knopf", onclick: fn, "aria-label": "…"}, "Text", childNode, [more]) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    if (attrs) {
      for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === "class") node.className = value;
        else if (key === "text") node.textContent = value;
        else if (key === "dataset") Object.assign(node.dataset, value);
        else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
        else if (value === true) node.setAttribute(key, "");
        else if (key === "value" && (tag === "input" || tag === "textarea" || tag === "select")) node.value = value;
        else node.setAttribute(key, String(value));
      }
    }
    append(node, children);
    return node;
  }

  function append(node, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(node, child);
      else if (child instanceof Node) node.appendChild(child);
      else node.appendChild(document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  function replace(node, ...children) {
    clear(node);
    return append(node, children);
  }

  let idCounter = 0;
  function uid(prefix) {
    idCounter += 1;
    return (prefix || "id") + "-" + idCounter;
  }

  // ---------------------------------------------------------------- API client
  class ApiError extends Error {
    constructor(message, status, data) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  function detailText(data, status) {
    if (data && typeof data.detail === "string" && data.detail) return data.detail;
    if (data && Array.isArray(data.detail)) {
      return data.detail.map((d) => (d && d.msg) || String(d)).join("; ");
    }
    return STATUS_TEXT[status] || "Unerwarteter Fehler (Status " + status + ").";
  }

  /**
   * fetch wrapper: JSON in and out; mutating requests carry X-CSRF-Token.
   * opts: {method, json, form (FormData), query (object), raw (return Response)}
   */
  async function api(path, opts) {
    opts = opts || {};
    const method = (opts.method || (opts.json !== undefined || opts.form ? "POST" : "GET")).toUpperCase();
    let url = path;
    if (opts.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.query)) {
        if (v !== null && v !== undefined && v !== "") q.set(k, v);
      }
      const s = q.toString();
      if (s) url += (url.includes("?") ? "&" : "?") + s;
    }
    const headers = { Accept: "application/json" };
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = opts.form;
    }
    if (method !== "GET" && method !== "HEAD") {
      headers["X-CSRF-Token"] = (state.me && state.me.csrf_token) || "";
    }
    let resp;
    try {
      resp = await fetch(url, { method, headers, body, credentials: "same-origin" });
    } catch (e) {
      throw new ApiError(OFFLINE, 0, null);
    }
    if (resp.status === 401) {
      sessionExpired();
      throw new ApiError(SESSION_EXPIRED, 401, null);
    }
    if (opts.raw && resp.ok) return resp;
    let data = null;
    const type = resp.headers.get("content-type") || "";
    if (resp.status !== 204) {
      if (type.includes("json")) {
        try { data = await resp.json(); } catch (e) { data = null; }
      } else {
        try { data = await resp.text(); } catch (e) { data = null; }
      }
    }
    if (!resp.ok) {
      throw new ApiError(detailText(data, resp.status), resp.status, data);
    }
    return data;
  }

  function sessionExpired() {
    if (state.sessionExpired) return;
    state.sessionExpired = true;
    const next = location.pathname + location.search;
    const box = el("div", { class: "fehler", role: "alert", id: "sitzung-abgelaufen" },
      el("p", null, SESSION_EXPIRED + " ",
        el("a", { href: "/login?next=" + encodeURIComponent(next) }, "Zur Anmeldung")));
    messageBar().prepend(box);
  }

  function messageBar() {
    let bar = document.getElementById("meldungen");
    if (!bar) {
      bar = el("div", { id: "meldungen", class: "meldungsleiste" });
      const header = document.querySelector("header");
      if (header) header.after(bar); else document.body.prepend(bar);
    }
    return bar;
  }

  /** A message box in `container` (replacing its content); kind: fehler | hinweis | erfolg | info */
  function showMessage(container, kind, text, extra) {
    const role = kind === "fehler" ? "alert" : "status";
    return replace(container, el("div", { class: kind, role }, el("p", null, text), extra || null));
  }

  function showLoading(container, text) {
    return replace(container, el("p", { class: "laden leise", role: "status" }, text || "Wird geladen …"));
  }

  function errorText(err) {
    return (err && err.message) || "Unerwarteter Fehler.";
  }

  // ---------------------------------------------------------------- live announcements
  function announce(text) {
    let region = document.getElementById("ansage");
    if (!region) {
      region = el("div", { id: "ansage", class: "visually-hidden", "aria-live": "polite", role: "status" });
      document.body.appendChild(region);
    }
    region.textContent = "";
    window.setTimeout(() => { region.textContent = text; }, 50);
  }

  // ---------------------------------------------------------------- header and session
  function hasRole(...roles) {
    const mine = (state.me && state.me.roles) || [];
    return roles.some((r) => mine.includes(r));
  }

  function renderHeader(page) {
    const header = document.querySelector("header.kopf");
    if (!header) return;
    const me = state.me;
    const items = NAV.filter((n) => !n.roles || (me && n.roles.some((r) => me.roles.includes(r))));
    const nav = el("nav", { "aria-label": "Hauptnavigation" },
      el("ul", null, items.map((n) => el("li", null,
        el("a", { href: n.href, "aria-current": n.page === page ? "page" : null }, n.label)))));
    const user = el("div", { class: "nutzer" });
    if (me) {
      const roles = (me.roles || []).map((r) => ROLE_LABELS[r] || r).join(", ");
      append(user, [
        el("span", { id: "nutzer-name" }, el("span", { class: "visually-hidden" }, "Angemeldet als "),
          me.display_name || me.user_id,
          roles ? el("span", { class: "visually-hidden" }, " (" + roles + ")") : null),
        el("form", { method: "post", action: "/logout" },
          el("input", { type: "hidden", name: "csrf_token", value: me.csrf_token || "" }),
          el("button", { type: "submit", id: "abmelden" }, "Abmelden")),
      ]);
    }
    replace(header,
      el("a", { class: "marke", href: "/" }, "Lotse ", el("span", null, "Sozialreferat")),
      nav, user);
  }

  /**
   * Start a page: load /api/me, draw the header. With `roles`, only users holding one of them may
   * use the page (others see a German notice). Resolves to the user object or null.
   */
  async function init(page, roles) {
    renderHeader(page);
    try {
      state.me = await api("/api/me");
    } catch (err) {
      if (err.status !== 401) {
        append(messageBar(), el("div", { class: "fehler", role: "alert" },
          el("p", null, "Ihre Anmeldedaten konnten nicht geladen werden: " + errorText(err))));
      }
      return null;
    }
    state.me.roles = state.me.roles || [];
    renderHeader(page);
    if (roles && !hasRole(...roles)) {
      const main = document.querySelector("main");
      replace(main, el("h1", null, "Keine Berechtigung"),
        el("div", { class: "fehler", role: "alert" },
          el("p", null, "Für diese Seite fehlt Ihnen die Berechtigung. Bitte wenden Sie sich an die Administration."),
          el("p", null, el("a", { href: "/" }, "Zur Startseite"))));
      return null;
    }
    return state.me;
  }

  // ---------------------------------------------------------------- formatting
  /** ISO string (naive = UTC) or Unix seconds -> "25.11.2026, 17:38". */
  function formatDateTime(iso) {
    if (iso === null || iso === undefined || iso === "") return "";
    let d;
    if (typeof iso === "number" || /^\d+(\.\d+)?$/.test(String(iso))) d = new Date(Number(iso) * 1000);
    else d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
    if (isNaN(d.getTime())) return String(iso);
    return d.toLocaleString("de-DE", { day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  function formatNumber(n, digits) {
    if (typeof n !== "number") return String(n);
    return n.toLocaleString("de-DE", { maximumFractionDigits: digits === undefined ? 1 : digits });
  }

  function citationLabel(c) {
    const parts = [c.title || c.source || "Quelle"];
    if (c.section) parts.push(c.section);
    let text = parts.join(" – ");
    if (c.page) text += ", S. " + c.page;
    return text;
  }

  /**
   * Answer-like text to DOM: paragraphs (blank line), bullet lists ("- " lines), **bold**, and
   * citation markers [n] as buttons (onCite(n, button)). Never uses innerHTML.
   */
  function renderRichText(container, text, onCite) {
    clear(container);
    const blocks = String(text || "").replace(/\r\n/g, "\n").split(/\n{2,}/);
    for (const block of blocks) {
      if (!block.trim()) continue;
      const lines = block.split("\n");
      let list = null;
      let para = null;
      for (const line of lines) {
        const m = /^\s*(?:[-*•]|\d+\.)\s+(.*)$/.exec(line);
        if (m) {
          if (!list) { list = el("ul"); container.appendChild(list); para = null; }
          list.appendChild(inline(el("li"), m[1], onCite));
        } else {
          list = null;
          if (!para) { para = el("p"); container.appendChild(para); }
          else para.appendChild(el("br"));
          inline(para, line, onCite);
        }
      }
    }
    return container;
  }

  function inline(node, text, onCite) {
    const re = /(\[(\d{1,2})\])|\*\*([^*]+)\*\*/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) node.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[1] && onCite) {
        const n = Number(m[2]);
        const b = el("button", { type: "button", class: "zitat", "aria-label": "Quelle " + n + " öffnen" }, "[" + n + "]");
        b.addEventListener("click", () => onCite(n, b));
        node.appendChild(b);
      } else if (m[1]) {
        node.appendChild(document.createTextNode(m[1]));
      } else {
        node.appendChild(el("strong", null, m[3]));
      }
      last = re.lastIndex;
    }
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
    return node;
  }

  /** The sentences of `answer` that cite [n] (citation markers, "Laut …:" leads and list marks removed). */
  function citedSentences(answer, n) {
    const out = [];
    const marker = "[" + n + "]";
    for (const raw of String(answer || "").split(/\n+/)) {
      if (!raw.includes(marker)) continue;
      let line = raw.replace(/^\s*(?:[-*•]|\d+\.)\s+/, "").replace(/^Laut [^:]{1,200}:\s*/, "");
      for (const part of line.split(/(?<=\])\s+/)) {
        if (!part.includes(marker)) continue;
        const s = part.replace(/\s*\[\d{1,2}\]/g, "").trim();
        if (s.length >= 12) out.push(s);
      }
    }
    return out;
  }

  function escapeRegex(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /** Find `sentences` in `text` (whitespace-tolerant); returns sorted, merged [start, end) ranges. */
  function findRanges(text, sentences) {
    const ranges = [];
    for (const sentence of sentences || []) {
      const words = sentence.replace(/[.!?]+$/, "").split(/\s+/).filter(Boolean);
      if (words.length < 2) continue;
      const attempts = [words, words.slice(0, Math.min(words.length, 10))];
      for (const w of attempts) {
        const re = new RegExp(w.map(escapeRegex).join("\\s+") + "[.!?]?", "i");
        const m = re.exec(text);
        if (m) { ranges.push([m.index, m.index + m[0].length]); break; }
      }
    }
    ranges.sort((a, b) => a[0] - b[0]);
    const merged = [];
    for (const r of ranges) {
      const last = merged[merged.length - 1];
      if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push(r.slice());
    }
    return merged;
  }

  // ---------------------------------------------------------------- source side panel
  /**
   * The side panel that shows a cited passage (GET /api/sources/{chunk_id}).
   * panel: an <aside> element (hidden until opened). layout: element that gets class
   * `quelle-offen` while open. Escape and the close button close it and return focus.
   */
  class SourcePanel {
    constructor(panel, layout) {
      this.panel = panel;
      this.layout = layout || null;
      this.trigger = null;
      this.request = 0;
      this.titleId = panel.getAttribute("aria-labelledby") || uid("quelle-titel");
      panel.setAttribute("aria-labelledby", this.titleId);
      document.addEventListener("keydown", (e) => {
        if (e.key === "Escape" && !this.panel.hidden) {
          e.preventDefault();
          this.close();
        }
      });
    }

    async open(chunkId, options) {
      options = options || {};
      if (this.trigger && this.trigger !== options.trigger) this.trigger.setAttribute("aria-expanded", "false");
      this.trigger = options.trigger || document.activeElement;
      if (this.trigger && this.trigger.setAttribute) this.trigger.setAttribute("aria-expanded", "true");
      const req = ++this.request;
      const heading = el("h2", { id: this.titleId, tabindex: "-1" }, "Quelle");
      const closeBtn = el("button", { type: "button", class: "knopf klein", onclick: () => this.close() },
        "Schließen", el("span", { class: "visually-hidden" }, " (Escape)"));
      const body = el("div", { class: "panel-inhalt" });
      replace(this.panel, el("div", { class: "panel-kopf" }, heading, closeBtn), body);
      this.panel.hidden = false;
      if (this.layout) this.layout.classList.add("quelle-offen");
      showLoading(body, "Textstelle wird geladen …");
      heading.focus();
      let src;
      try {
        src = await api("/api/sources/" + encodeURIComponent(chunkId));
      } catch (err) {
        if (req !== this.request) return;
        showMessage(body, "fehler", "Die Textstelle konnte nicht geladen werden: " + errorText(err));
        return;
      }
      if (req !== this.request) return;
      heading.textContent = src.title || src.source || "Quelle";
      const plain = String(src.text || "").replace(/\*\*([^*]+)\*\*/g, "$1").replace(/__([^_]+)__/g, "$1");
      const ranges = findRanges(plain, options.highlight || []);
      const textNode = el("div", { class: "quellentext" });
      if (!ranges.length) {
        textNode.appendChild(el("mark", null, plain));
      } else {
        let pos = 0;
        for (const [a, b] of ranges) {
          if (a > pos) textNode.appendChild(document.createTextNode(plain.slice(pos, a)));
          textNode.appendChild(el("mark", null, plain.slice(a, b)));
          pos = b;
        }
        if (pos < plain.length) textNode.appendChild(document.createTextNode(plain.slice(pos)));
      }
      const path = (src.heading_path && src.heading_path.length) ? src.heading_path.join(" › ") : src.section;
      replace(body,
        el("dl", null,
          el("dt", null, "Dokument"), el("dd", null, src.title || src.source),
          el("dt", null, "Abschnitt"), el("dd", { class: "quelle-abschnitt" }, path || "–"),
          src.page ? [el("dt", null, "Seite"), el("dd", null, String(src.page))] : null,
          el("dt", null, "Datei"), el("dd", null, el("span", { class: "mono" }, src.source || "")),
          src.department ? [el("dt", null, "Bereich"), el("dd", null, src.department)] : null),
        el("h3", null, ranges.length ? "Textstelle (zitierte Sätze markiert)" : "Zitierte Textstelle"),
        textNode);
      announce("Quelle geöffnet: " + (src.title || "") + ", " + (src.section || ""));
    }

    close() {
      this.request += 1;
      this.panel.hidden = true;
      clear(this.panel);
      if (this.layout) this.layout.classList.remove("quelle-offen");
      const t = this.trigger;
      this.trigger = null;
      if (t && t.setAttribute) t.setAttribute("aria-expanded", "false");
      if (t && document.contains(t)) t.focus();
    }
  }

  /** A list of citation chips (buttons) that open passages in `panel`. */
  function citationChips(citations, panel, highlightFor, label) {
    const list = el("ul", { class: "chips", "aria-label": label || "Quellen" });
    for (const c of citations || []) {
      const b = el("button", { type: "button", "aria-expanded": "false", dataset: { chunk: c.chunk_id } },
        c.n ? "[" + c.n + "] " : "", citationLabel(c));
      b.addEventListener("click", () => panel.open(c.chunk_id, {
        trigger: b, highlight: highlightFor ? highlightFor(c) : [],
      }));
      list.appendChild(el("li", null, b));
    }
    return list;
  }

  // ---------------------------------------------------------------- tables
  /** columns: [{label, value: row => node|string, class}] */
  function table(columns, rows, caption) {
    const t = el("table", null,
      caption ? el("caption", null, caption) : null,
      el("thead", null, el("tr", null, columns.map((c) => el("th", { scope: "col", class: c.class || null }, c.label)))),
      el("tbody", null, rows.map((row) => el("tr", null, columns.map((c) => {
        const v = c.value(row);
        return el("td", { class: c.class || null }, v === null || v === undefined ? "" : v);
      })))));
    const wrap = el("div", { class: "tabelle-rahmen" }, t);
    // a table wider than its box scrolls; then the box must be reachable by keyboard (WCAG 2.1.1)
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        if (wrap.scrollWidth > wrap.clientWidth + 1) {
          wrap.setAttribute("tabindex", "0");
          wrap.setAttribute("role", "region");
          wrap.setAttribute("aria-label", (caption || "Tabelle") + " (waagrecht scrollbar)");
        } else {
          wrap.removeAttribute("tabindex");
          wrap.removeAttribute("role");
          wrap.removeAttribute("aria-label");
        }
      }).observe(wrap);
    }
    return wrap;
  }

  function field(label, control, hint) {
    const id = control.id || uid("feld");
    control.id = id;
    let hintNode = null;
    if (hint) {
      const hid = id + "-hinweis";
      hintNode = el("span", { class: "hinweistext", id: hid }, hint);
      control.setAttribute("aria-describedby", hid);
    }
    return el("div", { class: "feld" }, el("label", { for: id }, label), hintNode, control);
  }

  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try { await navigator.clipboard.writeText(text); return true; } catch (e) { /* fall through */ }
    }
    const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true", tabindex: "-1" });
    area.value = text;
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }

  window.Lotse = {
    el, append, clear, replace, uid, api, ApiError, init, hasRole, announce, showMessage, showLoading,
    errorText, messageBar, sessionExpired, formatDateTime, formatNumber, citationLabel, renderRichText,
    citedSentences, findRanges, SourcePanel, citationChips, table, field, copyText, ROLE_LABELS,
    get me() { return state.me; },
  };
})();
