/* Chat page: conversations, streamed answers over WebSocket /ws/chat, citations, source panel,
   feedback, copy, model answers (role schulung). */
(function () {
  "use strict";
  const { el, api, replace, clear, announce, errorText } = Lotse;

  const $ = (id) => document.getElementById(id);
  const verlauf = $("verlauf");
  const form = $("frageformular");
  const frage = $("frage");
  const senden = $("senden");
  const stopp = $("stopp");
  const status = $("status");
  const formError = $("formularfehler");
  const verbindung = $("verbindung");
  const liste = $("gespraechsliste");
  const panel = new Lotse.SourcePanel($("quelle"), $("layout"));

  const chat = {
    ws: null,
    open: false,
    lost: false,
    retryMs: 1000,
    retryTimer: null,
    stopped: false,     // no more reconnects (session expired)
    conversationId: null,
    current: null,      // the answer view being streamed
  };

  // ------------------------------------------------------------ answer view
  const EXTRACTIVE_NOTE = "Auszug aus den Quellen, ohne Sprachmodell";

  /** One answer in the conversation; `data` may come from the stream or from a saved conversation. */
  function answerView(question) {
    const v = {
      question, text: "", citations: [], refused: false, provider: "", fallback: null, suggestions: [],
      messageId: null, running: true, cancelled: false, renderQueued: false,
    };
    const titleId = Lotse.uid("antwort");
    v.badges = el("div", { class: "kopfzeile" });
    v.body = el("div", { class: "antworttext laeuft" });
    v.notes = el("div");
    v.sources = el("div");
    v.actions = el("div", { class: "antwort-aktionen" });
    v.feedback = el("div", { class: "rueckmeldung" });
    v.node = el("article", { class: "nachricht antwort", "aria-labelledby": titleId, "aria-busy": "true" },
      el("h2", { class: "visually-hidden", id: titleId }, "Antwort von Lotse"),
      v.badges, v.body, v.notes, v.sources, v.actions, v.feedback);

    v.cite = (n, button) => {
      const c = v.citations.find((x) => x.n === n);
      if (!c) {
        announce("Die Quelle " + n + " wird noch ermittelt.");
        return;
      }
      panel.open(c.chunk_id, { trigger: button, highlight: Lotse.citedSentences(v.text, n) });
    };
    v.render = () => {
      v.renderQueued = false;
      Lotse.renderRichText(v.body, v.text, v.cite);
    };
    v.queueRender = () => {
      if (!v.renderQueued) {
        v.renderQueued = true;
        window.requestAnimationFrame(v.render);
      }
    };
    v.finish = () => {
      v.running = false;
      v.node.removeAttribute("aria-busy");
      v.body.classList.remove("laeuft");
      v.render();
      drawMeta(v);
    };
    return v;
  }

  function drawMeta(v) {
    clear(v.badges);
    clear(v.notes);
    clear(v.sources);
    const provider = String(v.provider || "");
    if (v.refused) {
      v.node.classList.add("abgelehnt");
      v.badges.appendChild(el("span", { class: "abzeichen abgelehnt" }, "Keine gesicherte Antwort in den Quellen"));
    } else if (provider === "kuratiert") {
      v.badges.appendChild(el("span", { class: "abzeichen kuratiert" }, "Geprüfte Musterantwort (kuratiert)"));
    } else if (provider.startsWith("extractive")) {
      v.badges.appendChild(el("span", { class: "abzeichen auszug" }, EXTRACTIVE_NOTE));
    } else if (provider) {
      v.badges.appendChild(el("span", { class: "abzeichen" }, "Vom Sprachmodell formuliert – bitte anhand der Quellen prüfen"));
    }
    if (Array.isArray(v.departments) && v.departments.length) {
      v.badges.appendChild(el("span", { class: "abzeichen", title: "Abteilungen, deren Dokumente Sie sehen" },
        "Quellen aus: " + v.departments.join(", ")));
    }
    if (v.fallback) {
      v.badges.appendChild(el("span", { class: "abzeichen ersatz" }, "Ersatzantwort"));
      v.notes.appendChild(el("div", { class: "hinweis", role: "note" },
        el("p", null, el("strong", null, "Ersatzantwort: "),
          "Das Sprachmodell konnte nicht antworten (" + v.fallback + "). Die Antwort wurde direkt aus den Quellen zusammengestellt.")));
    }
    if (v.cancelled) {
      v.notes.appendChild(el("div", { class: "hinweis", role: "note" },
        el("p", null, "Die Antwort wurde abgebrochen und ist unvollständig.")));
    }
    if (v.error) {
      v.notes.appendChild(el("div", { class: "fehler", role: "alert" }, el("p", null, v.error)));
    }
    if (v.citations.length) {
      v.sources.appendChild(el("h3", { class: "klein" }, "Quellen"));
      v.sources.appendChild(Lotse.citationChips(v.citations, panel, (c) => Lotse.citedSentences(v.text, c.n),
        "Quellen dieser Antwort"));
    } else if (v.refused && v.suggestions && v.suggestions.length) {
      v.sources.appendChild(el("h3", { class: "klein" }, "Am nächsten kommende Dokumente"));
      v.sources.appendChild(Lotse.citationChips(v.suggestions, panel, null, "Am nächsten kommende Dokumente"));
    }
    drawActions(v);
  }

  function drawActions(v) {
    clear(v.actions);
    if (!v.text) return;
    const copy = el("button", { type: "button", class: "knopf klein" }, "Antwort kopieren");
    copy.addEventListener("click", async () => {
      const ok = await Lotse.copyText(v.text);
      announce(ok ? "Antwort in die Zwischenablage kopiert." : "Kopieren nicht möglich. Bitte markieren Sie den Text selbst.");
      copy.textContent = ok ? "Kopiert" : "Kopieren nicht möglich";
      window.setTimeout(() => { copy.textContent = "Antwort kopieren"; }, 2500);
    });
    v.actions.appendChild(copy);
    if (v.running) return;
    const noId = !v.messageId;
    const up = el("button", { type: "button", class: "knopf klein", "aria-pressed": "false", disabled: noId,
      "data-bewertung": "up" }, thumb(false), "Hilfreich");
    const down = el("button", { type: "button", class: "knopf klein", "aria-pressed": "false", disabled: noId,
      "data-bewertung": "down" }, thumb(true), "Nicht hilfreich");
    up.addEventListener("click", () => feedbackForm(v, "up", up, down));
    down.addEventListener("click", () => feedbackForm(v, "down", down, up));
    v.actions.append(up, down);
    if (Lotse.hasRole("schulung") && !v.refused && v.provider !== "kuratiert") {
      const model = el("button", { type: "button", class: "knopf klein", disabled: noId }, "Als Musterantwort übernehmen");
      model.addEventListener("click", () => adoptModelAnswer(v, model));
      v.actions.appendChild(model);
    }
  }

  /** A small thumb icon (inline SVG, decorative). */
  function thumb(down) {
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "16");
    svg.setAttribute("height", "16");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    if (down) svg.setAttribute("transform", "rotate(180)");
    const path = document.createElementNS(NS, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M2 10h4v11H2zM8 21h9.5a2 2 0 0 0 2-1.6l1.4-7A2 2 0 0 0 19 10h-5.5l.9-4.3A1.8 1.8 0 0 0 12.6 3.5L8 9.5z");
    svg.appendChild(path);
    return svg;
  }

  function feedbackForm(v, rating, pressed, other) {
    if (v.feedbackSent) return;
    pressed.setAttribute("aria-pressed", "true");
    other.setAttribute("aria-pressed", "false");
    const areaId = Lotse.uid("kommentar");
    const area = el("textarea", { id: areaId, rows: "2", maxlength: "2000" });
    const msg = el("div");
    const send = el("button", { type: "submit", class: "knopf klein primaer" }, "Rückmeldung senden");
    const cancel = el("button", { type: "button", class: "knopf klein" }, "Abbrechen");
    const f = el("form", { class: "karte", "aria-label": "Rückmeldung zur Antwort" },
      el("p", null, rating === "up" ? "Sie fanden die Antwort hilfreich." : "Sie fanden die Antwort nicht hilfreich."),
      el("div", { class: "feld" }, el("label", { for: areaId }, "Kommentar (freiwillig)"),
        el("span", { class: "hinweistext", id: areaId + "-h" }, "Was war gut oder was fehlte? Bitte keine personenbezogenen Daten."),
        area),
      el("div", { class: "knopfleiste" }, send, cancel), msg);
    area.setAttribute("aria-describedby", areaId + "-h");
    cancel.addEventListener("click", () => {
      clear(v.feedback);
      pressed.setAttribute("aria-pressed", "false");
      pressed.focus();
    });
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      send.disabled = true;
      try {
        await api("/api/feedback", { json: { message_id: v.messageId, rating, comment: area.value.trim() || null } });
        v.feedbackSent = true;
        pressed.disabled = true;
        other.disabled = true;
        replace(v.feedback, el("p", { class: "erfolg", role: "status" }, "Danke für Ihre Rückmeldung."));
      } catch (err) {
        send.disabled = false;
        Lotse.showMessage(msg, "fehler", "Die Rückmeldung konnte nicht gesendet werden: " + errorText(err));
      }
    });
    replace(v.feedback, f);
    area.focus();
  }

  async function adoptModelAnswer(v, button) {
    button.disabled = true;
    try {
      await api("/api/training/model-answers", {
        json: { message_id: v.messageId, question: v.question || "", answer: v.text, citations: v.citations },
      });
      button.textContent = "Als Musterantwort übernommen";
      announce("Die Antwort wurde als Musterantwort übernommen.");
    } catch (err) {
      button.disabled = false;
      v.notes.appendChild(el("div", { class: "fehler", role: "alert" },
        el("p", null, "Übernahme als Musterantwort nicht möglich: " + errorText(err))));
    }
  }

  function questionView(text) {
    return el("div", { class: "nachricht frage" }, el("span", { class: "visually-hidden" }, "Ihre Frage: "),
      el("p", null, text));
  }

  function clearEmptyState() {
    const leer = verlauf.querySelector(".leer");
    if (leer) leer.remove();
  }

  // ------------------------------------------------------------ WebSocket
  function setStatus(text) {
    status.textContent = text;
  }

  function setBusy(busy) {
    senden.disabled = busy;
    stopp.disabled = !busy;
    frage.setAttribute("aria-disabled", busy ? "true" : "false");
  }

  function connect() {
    if (chat.stopped) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let ws;
    try {
      ws = new WebSocket(proto + "//" + location.host + "/ws/chat");
    } catch (e) {
      scheduleReconnect();
      return;
    }
    chat.ws = ws;
    ws.addEventListener("open", () => {
      chat.open = true;
      form.dataset.verbunden = "ja";
      chat.retryMs = 1000;
      if (chat.lost) {
        chat.lost = false;
        verbindung.className = "erfolg";
        verbindung.textContent = "Die Verbindung zum Server ist wiederhergestellt.";
        window.setTimeout(() => { if (chat.open) verbindung.hidden = true; }, 4000);
      }
    });
    ws.addEventListener("message", (e) => {
      let ev;
      try { ev = JSON.parse(e.data); } catch (err) { return; }
      handle(ev);
    });
    ws.addEventListener("close", (e) => onClose(e));
  }

  async function onClose(e) {
    const wasOpen = chat.open;
    chat.open = false;
    form.dataset.verbunden = "nein";
    chat.ws = null;
    const cur = chat.current;
    if (cur && cur.running) {
      cur.error = "Die Verbindung wurde während der Antwort unterbrochen. Bitte stellen Sie die Frage erneut.";
      cur.finish();
      chat.current = null;
      setBusy(false);
      setStatus("Antwort unterbrochen.");
    }
    // a closed socket may mean an expired session: ask the server
    try {
      await api("/api/me");
    } catch (err) {
      if (err.status === 401) {
        chat.stopped = true;
        verbindung.hidden = true;
        return;
      }
    }
    if (e && (e.code === 1008 || e.code === 4401 || e.code === 4403) && !wasOpen) {
      verbindung.className = "fehler";
      verbindung.hidden = false;
      verbindung.textContent = "Der Server hat die Verbindung abgelehnt. Bitte laden Sie die Seite neu.";
      chat.stopped = true;
      return;
    }
    chat.lost = true;
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (chat.stopped || chat.retryTimer) return;
    const secs = Math.round(chat.retryMs / 1000);
    verbindung.className = "hinweis";
    verbindung.hidden = false;
    verbindung.textContent = "Die Verbindung zum Server ist unterbrochen. Neuer Verbindungsversuch in " + secs +
      (secs === 1 ? " Sekunde …" : " Sekunden …");
    chat.retryTimer = window.setTimeout(() => {
      chat.retryTimer = null;
      connect();
    }, chat.retryMs);
    chat.retryMs = Math.min(chat.retryMs * 2, 30000);
  }

  function handle(ev) {
    const cur = chat.current;
    switch (ev.type) {
      case "conversation":
        if (chat.conversationId !== ev.conversation_id) {
          chat.conversationId = ev.conversation_id;
          chat.newConversation = true;
        }
        break;
      case "meta":
        setStatus("Passende Quellen gefunden. Die Antwort wird geschrieben …");
        if (cur) {
          cur.provider = ev.provider || cur.provider;
          cur.departments = Array.isArray(ev.departments) ? ev.departments : null;
        }
        break;
      case "token":
        if (!cur) break;
        cur.text += ev.text || "";
        cur.queueRender();
        break;
      case "replace":
        if (!cur) break;
        cur.text = ev.text || "";
        cur.fallback = ev.reason || cur.fallback;
        cur.queueRender();
        break;
      case "citations":
        if (cur) cur.citations = ev.citations || [];
        break;
      case "done":
        if (!cur) break;
        cur.text = ev.answer !== undefined ? ev.answer : cur.text;
        cur.citations = ev.citations || cur.citations;
        cur.refused = !!ev.refused;
        cur.provider = ev.provider || cur.provider;
        cur.fallback = ev.fallback || null;
        cur.suggestions = ev.suggestions || [];
        cur.cancelled = !!ev.cancelled;
        cur.finish();
        setBusy(false);
        if (cur.refused) setStatus("Lotse hat in den Quellen keine gesicherte Antwort gefunden.");
        else if (cur.cancelled) setStatus("Antwort abgebrochen.");
        else setStatus("Antwort fertig" + (cur.citations.length ? " mit " + cur.citations.length +
          (cur.citations.length === 1 ? " Quelle." : " Quellen.") : "."));
        break;
      case "saved":
        if (cur) {
          cur.messageId = ev.message_id;
          drawActions(cur);
          chat.current = null;
        }
        chat.conversationId = ev.conversation_id || chat.conversationId;
        loadConversations();
        break;
      case "error":
        if (cur && cur.running) {
          cur.error = ev.message || "Unerwarteter Fehler.";
          cur.finish();
          chat.current = null;
          setBusy(false);
          setStatus("Fehler: " + cur.error);
        } else {
          Lotse.showMessage(formError, "fehler", ev.message || "Unerwarteter Fehler.");
        }
        break;
      default:
        break;
    }
  }

  function ask(question) {
    clear(formError);
    if (!question) {
      Lotse.showMessage(formError, "fehler", "Bitte geben Sie eine Frage ein.");
      frage.setAttribute("aria-invalid", "true");
      frage.focus();
      return;
    }
    frage.removeAttribute("aria-invalid");
    if (!chat.open || !chat.ws) {
      Lotse.showMessage(formError, "fehler",
        "Keine Verbindung zum Server. Bitte warten Sie, bis die Verbindung wiederhergestellt ist, und senden Sie dann erneut.");
      return;
    }
    clearEmptyState();
    verlauf.appendChild(questionView(question));
    const v = answerView(question);
    chat.current = v;
    verlauf.appendChild(v.node);
    v.node.scrollIntoView({ block: "nearest" });
    setBusy(true);
    setStatus("Die Antwort wird erstellt …");
    chat.ws.send(JSON.stringify({ type: "ask", question, conversation_id: chat.conversationId }));
    frage.value = "";
  }

  /**
   * Before a question is sent: ask the server's personal-data detector. When it finds a name, a date of
   * birth, an IBAN …, show a warning with the choice to send the masked question, send it as typed, or edit.
   */
  async function checkThenAsk(question) {
    if (!question) return ask(question);
    let check = null;
    try {
      check = await api("/api/questions/check", { json: { question } });
    } catch (err) {
      check = null; // the check is a help, never a reason not to answer
    }
    if (!check || !check.personal_data) return ask(question);
    const masked = check.masked;
    const box = el("div", { class: "hinweis pii-warnung", id: "pii-warnung" },
      el("p", null, el("strong", null, "Achtung, personenbezogene Daten: "), check.message),
      el("p", { class: "klein" }, "So würde die Frage ohne diese Angaben gesendet: ", el("q", { class: "maskiert" }, masked)),
      el("div", { class: "knopfleiste" },
        el("button", { type: "button", class: "knopf primaer", onclick: () => { clear(formError); frage.value = masked; ask(masked); } },
          "Ohne diese Angaben senden"),
        el("button", { type: "button", class: "knopf", onclick: () => { clear(formError); frage.focus(); } },
          "Frage bearbeiten"),
        el("button", { type: "button", class: "knopf", onclick: () => { clear(formError); ask(question); } },
          "Trotzdem senden")));
    replace(formError, box);
    box.querySelector("button").focus();
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (senden.disabled) return;
    checkThenAsk(frage.value.trim());
  });
  frage.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!senden.disabled) checkThenAsk(frage.value.trim());
    }
  });
  stopp.addEventListener("click", () => {
    if (chat.ws && chat.open) chat.ws.send(JSON.stringify({ type: "cancel" }));
    setStatus("Die Antwort wird abgebrochen …");
  });

  // ------------------------------------------------------------ conversations
  async function loadConversations() {
    let items;
    try {
      items = await api("/api/conversations");
    } catch (err) {
      Lotse.showMessage(liste, "fehler", "Die Gespräche konnten nicht geladen werden: " + errorText(err));
      return;
    }
    if (!items.length) {
      replace(liste, el("p", { class: "leise klein" }, "Noch keine Gespräche."));
      return;
    }
    const ul = el("ul");
    for (const c of items) {
      const open = el("button", { type: "button", class: "oeffnen", "aria-current": c.id === chat.conversationId ? "true" : null },
        c.title || "Gespräch", el("span", { class: "visually-hidden" }, ", " + Lotse.formatDateTime(c.updated_at)));
      open.addEventListener("click", () => openConversation(c.id));
      const del = el("button", { type: "button", class: "loeschen", "aria-label": "Gespräch löschen: " + (c.title || "") },
        el("span", { "aria-hidden": "true" }, "✕"));
      del.addEventListener("click", () => deleteConversation(c));
      ul.appendChild(el("li", null, open, del));
    }
    replace(liste, ul);
  }

  async function openConversation(id) {
    if (chat.current && chat.current.running) {
      announce("Bitte warten Sie, bis die Antwort fertig ist.");
      return;
    }
    replace(verlauf, el("p", { class: "laden leise", role: "status" }, "Gespräch wird geladen …"));
    let conv;
    try {
      conv = await api("/api/conversations/" + encodeURIComponent(id));
    } catch (err) {
      Lotse.showMessage(verlauf, "fehler", "Das Gespräch konnte nicht geladen werden: " + errorText(err));
      return;
    }
    chat.conversationId = conv.id;
    clear(verlauf);
    let lastQuestion = "";
    for (const m of conv.messages || []) {
      if (m.role === "user") {
        lastQuestion = m.content;
        verlauf.appendChild(questionView(m.content));
      } else {
        const v = answerView(lastQuestion);
        v.text = m.content || "";
        v.citations = m.citations || [];
        v.provider = m.provider || "";
        v.refused = !!m.refused;
        v.fallback = m.fallback || null;
        v.messageId = m.id;
        v.finish();
        verlauf.appendChild(v.node);
      }
    }
    if (!verlauf.firstChild) verlauf.appendChild(el("p", { class: "leer" }, "Dieses Gespräch ist leer."));
    setStatus("Gespräch „" + (conv.title || "") + "“ geöffnet. Folgefragen setzen dieses Gespräch fort.");
    loadConversations();
    frage.focus();
  }

  async function deleteConversation(c) {
    if (!window.confirm("Gespräch „" + (c.title || "") + "“ wirklich löschen?")) return;
    try {
      await api("/api/conversations/" + encodeURIComponent(c.id), { method: "DELETE" });
    } catch (err) {
      Lotse.showMessage(liste, "fehler", "Löschen nicht möglich: " + errorText(err));
      return;
    }
    if (c.id === chat.conversationId) newConversation();
    announce("Gespräch gelöscht.");
    loadConversations();
  }

  function newConversation() {
    if (chat.current && chat.current.running) {
      announce("Bitte warten Sie, bis die Antwort fertig ist.");
      return;
    }
    chat.conversationId = null;
    replace(verlauf, el("div", { class: "leer" }, el("p", null, "Neues Gespräch. Stellen Sie Ihre Frage.")));
    setStatus("");
    loadConversations();
    frage.focus();
  }
  $("neues-gespraech").addEventListener("click", newConversation);

  // ------------------------------------------------------------ start
  Lotse.init("chat").then(() => {
    loadConversations();
    connect();
  });
})();
