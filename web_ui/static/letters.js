/* Letters page: case lookup, template choice, draft editor with proposals, submit, review queue with
   version comparison, approve/return, filing into the e-file, DOCX download. */
(function () {
  "use strict";
  const { el, api, replace, clear, announce, errorText, showMessage } = Lotse;
  const $ = (id) => document.getElementById(id);

  const panel = new Lotse.SourcePanel($("quelle"), $("layout"));
  const briefBox = $("brief");
  let me = null;
  let current = null;        // the letter view being shown
  let controls = {};         // field name -> {spec, get(), set(value)}

  const EDITABLE = ["draft", "returned"];

  const LABELS = {
    behoerde: "Behörde (Briefkopf)", sachbearbeitung: "Sachbearbeitung (Kontakt)", empfaenger: "Empfängerin oder Empfänger",
    akte: "Akte", datum: "Datum des Schreibens", briefanrede: "Briefanrede", frist: "Frist",
    begruendung: "Begründung", voraussichtlich_bis: "Voraussichtlich entschieden bis", zweck: "Zweck",
    zustaendiger_traeger: "Zuständiger Träger", zeitraum_von: "Zeitraum von", zeitraum_bis: "Zeitraum bis",
    verwendungsnachweis_bis: "Verwendungsnachweis bis", unterlagen: "Unterlagen", sachverhalt: "Sachverhalt",
    rechtsweg: "Rechtsweg", nebenbestimmungen: "Nebenbestimmungen", grund_verzoegerung: "Grund der Verzögerung",
    bezugsschreiben_datum: "Datum des Bezugsschreibens", betrag: "Betrag",
    beabsichtigte_entscheidung: "Beabsichtigte Entscheidung", gruende: "Gründe (Textbausteine)",
    nachforderung: "Datum der ersten, unbeantworteten Anforderung",
  };
  // the Rechtsbehelf in words (the procedure catalog's keys stay internal)
  const RECHTSWEG = {
    sgg: "Widerspruch (danach Klage zum Sozialgericht)",
    vwgo_wahl: "Widerspruch oder unmittelbar Klage zum Verwaltungsgericht",
    vwgo_klage: "Nur Klage zum Verwaltungsgericht (kein Widerspruchsverfahren)",
  };
  const KEY_LABELS = {
    anrede: "Anrede", name: "Name", nachname: "Nachname", vorname: "Vorname", zusatz: "Zusatz", strasse: "Straße und Hausnummer",
    plz_ort: "PLZ und Ort", amt: "Amt", abteilung: "Abteilung", email: "E-Mail", telefon: "Telefon",
    internet: "Internet", zimmer: "Zimmer", aktenzeichen: "Aktenzeichen", antragsdatum: "Antragsdatum",
    betreff: "Betreff", verfahren: "Verfahren", antragsart: "Art des Antrags", eingangsdatum: "Eingangsdatum (Posteingang)",
    antrag: "Antrag (wie im Brief genannt)",
  };
  const SOURCE_TEXT = {
    efile: "aus der E-Akte", static: "aus der Konfiguration", computed: "berechnet", generated: "Vorschlag aus den Quellen",
    user: "von Ihnen auszufüllen",
  };
  const HEAD_FIELDS = ["behoerde", "sachbearbeitung", "akte"];

  const KEY_ORDER = ["anrede", "vorname", "nachname", "name", "zusatz", "amt", "abteilung", "strasse", "plz_ort",
    "telefon", "email", "internet", "zimmer", "aktenzeichen", "verfahren", "betreff", "antragsdatum"];
  function keyRank(k) {
    const i = KEY_ORDER.indexOf(k);
    return i < 0 ? KEY_ORDER.length : i;
  }

  function label(name) {
    if (current && current.labels && current.labels[name]) return current.labels[name];
    return LABELS[name] || (name.charAt(0).toUpperCase() + name.slice(1)).replace(/_/g, " ");
  }

  function stateBadge(state, text) {
    return el("span", { class: "abzeichen zustand-" + state }, text || state);
  }

  function letterUrl(id, suffix) {
    return "/api/letters/" + encodeURIComponent(id) + (suffix || "");
  }

  // ------------------------------------------------------------------ case lookup
  $("aktenform").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("aktenzeichen");
    const az = input.value.trim();
    const box = $("akte");
    if (!az) {
      input.setAttribute("aria-invalid", "true");
      showMessage(box, "fehler", "Bitte geben Sie ein Aktenzeichen ein.");
      input.focus();
      return;
    }
    input.removeAttribute("aria-invalid");
    Lotse.showLoading(box, "Akte wird in der E-Akte gesucht …");
    let c;
    try {
      c = await api("/api/cases/" + encodeURIComponent(az));
    } catch (err) {
      showMessage(box, "fehler", errorText(err));
      return;
    }
    showCase(c);
  });

  function showCase(c) {
    const box = $("akte");
    const docs = (c.documents || []).map((d) => (typeof d === "string" ? d : d.title || d.name || "")).filter(Boolean);
    const templates = (c.templates || []).map((t) => (typeof t === "string" ? { name: t, title: t } : t));
    const info = el("dl", { class: "quelle-daten" },
      el("dt", null, "Aktenzeichen"), el("dd", null, c.aktenzeichen),
      c.title ? [el("dt", null, "Titel"), el("dd", null, c.title)] : null,
      el("dt", null, "Verfahren"), el("dd", null, c.procedure_type || "–"),
      el("dt", null, "Status"), el("dd", null, c.state || "–"),
      el("dt", null, "Fachbereich"), el("dd", null, c.department || "–"),
      el("dt", null, "Vorhandene Unterlagen"), el("dd", null, docs.length ? docs.join(", ") : "keine"));
    const parts = [el("h3", null, "Akte " + c.aktenzeichen), info];
    if (!templates.length) {
      parts.push(el("p", { class: "hinweis" }, "Für dieses Verfahren gibt es keine passende Vorlage."));
      replace(box, parts);
      return;
    }
    const fs = el("fieldset", null, el("legend", null, "Vorlage wählen"),
      templates.map((t, i) => {
        const id = Lotse.uid("vorlage");
        const descId = id + "-b";
        return el("div", { class: "feld" },
          el("label", { class: "auswahl", for: id },
            el("input", { type: "radio", name: "vorlage", id, value: t.name, checked: i === 0, "aria-describedby": descId }),
            el("strong", null, t.title || t.name)),
          el("span", { class: "hinweistext", id: descId },
            (t.description || "") + (t.four_eyes ? " Vier-Augen-Prinzip: Freigabe durch eine zweite Person." : "")));
      }));
    const msg = el("div");
    const btn = el("button", { type: "submit", class: "knopf primaer" }, "Entwurf erstellen");
    const form = el("form", null, fs, el("div", { class: "knopfleiste" }, btn), msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = form.querySelector("input[name=vorlage]:checked");
      if (!chosen) {
        showMessage(msg, "fehler", "Bitte wählen Sie eine Vorlage.");
        return;
      }
      btn.disabled = true;
      Lotse.showLoading(msg, "Entwurf wird erstellt: Angaben aus der E-Akte und Vorschläge aus den Quellen werden geladen …");
      try {
        const view = await api("/api/letters", { json: { aktenzeichen: c.aktenzeichen, template: chosen.value } });
        clear(msg);
        showLetter(view, { focus: true, message: ["erfolg", "Der Entwurf wurde erstellt. Bitte prüfen und ergänzen Sie die Angaben."] });
        loadMine();
      } catch (err) {
        showMessage(msg, "fehler", "Der Entwurf konnte nicht erstellt werden: " + errorText(err));
      } finally {
        btn.disabled = false;
      }
    });
    parts.push(form);
    replace(box, parts);
    nextLetter(c.aktenzeichen, form, fs);
  }

  /** The office's rules: which letter is due next for this case, and notes per template. */
  async function nextLetter(az, form, fs) {
    let touched = false;  // the person's own choice is never overridden by the late proposal
    fs.addEventListener("change", () => { touched = true; });
    let n;
    try {
      n = await api("/api/letters/next", { query: { aktenzeichen: az } });
    } catch (err) {
      return;  // the proposal is a help; the choice works without it
    }
    const box = el("div", { class: "info", role: "note", id: "naechstes-schreiben" },
      el("p", null, el("strong", null, "Nach den Amtsregeln: "),
        n.template ? "als Nächstes „" + (n.title || n.template) + "“. " : "", n.reason || ""));
    form.insertBefore(box, fs);
    for (const t of n.templates || []) {
      const radio = fs.querySelector("input[value='" + CSS.escape(t.name) + "']");
      if (!radio) continue;
      if (t.name === n.template && !touched) radio.checked = true;
      if (t.notes && t.notes.length) {
        const hint = document.getElementById(radio.getAttribute("aria-describedby"));
        if (hint) hint.appendChild(el("span", { class: "regelhinweis" }, " " + t.notes.join(" ")));
      }
    }
  }

  // ------------------------------------------------------------------ lists
  function letterList(rows, opts) {
    opts = opts || {};
    const verb = opts.verb || "Öffnen";
    return el("ul", { class: "liste-schlicht briefliste" }, rows.map((r) => {
      const b = el("button", { type: "button", class: "knopf klein", "aria-label": verb + ": " + r.title + ", " + r.aktenzeichen }, verb);
      b.addEventListener("click", () => openLetter(r.id, { focus: true }));
      const when = opts.submitted ? r.submitted_at : r.updated_at;
      return el("li", { dataset: { brief: r.id } },
        el("div", { class: "briefzeile" },
          el("div", null,
            el("strong", null, r.title), el("br"),
            el("span", { class: "mono klein" }, r.aktenzeichen), " ",
            stateBadge(r.state, r.state_label), el("br"),
            el("span", { class: "leise klein" },
              (opts.author && r.author ? "von " + r.author.name + ", " : "") +
              (opts.submitted ? "eingereicht " : "geändert ") + Lotse.formatDateTime(when))),
          b));
    }));
  }

  async function loadMine() {
    const box = $("meine");
    try {
      const rows = await api("/api/letters", { query: { mine: "true" } });
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Sie haben noch keine Schreiben erstellt."));
        return;
      }
      replace(box, letterList(rows));
    } catch (err) {
      showMessage(box, "fehler", "Ihre Schreiben konnten nicht geladen werden: " + errorText(err));
    }
  }

  async function loadQueue() {
    if (!Lotse.hasRole("pruefung")) return;
    $("pruefkorb-bereich").hidden = false;
    const box = $("pruefkorb");
    try {
      const rows = await api("/api/letters/review-queue");
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Keine Schreiben zur Prüfung."));
        return;
      }
      replace(box, letterList(rows, { author: true, submitted: true, verb: "Prüfen" }));
    } catch (err) {
      showMessage(box, "fehler", "Der Prüfkorb konnte nicht geladen werden: " + errorText(err));
    }
  }

  function refreshLists() {
    loadMine();
    loadQueue();
  }

  // ------------------------------------------------------------------ letter view
  async function openLetter(id, opts) {
    briefBox.hidden = false;
    Lotse.showLoading(briefBox, "Schreiben wird geladen …");
    try {
      const view = await api(letterUrl(id));
      showLetter(view, opts);
    } catch (err) {
      showMessage(briefBox, "fehler", "Das Schreiben konnte nicht geladen werden: " + errorText(err));
    }
  }

  function showLetter(view, opts) {
    opts = opts || {};
    current = view;
    controls = {};
    const url = new URL(location.href);
    url.searchParams.set("brief", view.id);
    history.replaceState(null, "", url.toString());
    const editable = EDITABLE.includes(view.state);
    const msgBox = el("div", { id: "brief-meldung" });
    const head = el("div", { class: "briefkopf" },
      el("h2", { id: "brief-titel", tabindex: "-1" }, view.title + " – " + view.aktenzeichen),
      stateBadge(view.state, view.state_label),
      el("span", { class: "leise", id: "brief-version" }, "Version " + view.version));
    const meta = el("p", { class: "leise klein" },
      "Verfasst von " + ((view.author && view.author.name) || "–"),
      view.approver ? "; freigegeben von " + view.approver.name : "",
      view.four_eyes ? ". Vier-Augen-Prinzip: Die Freigabe muss eine andere Person erteilen." : ".");
    const parts = [head, meta, msgBox];
    if (view.rule_notes && view.rule_notes.length) {
      parts.push(el("div", { class: "hinweis", role: "note", id: "amtsregeln" },
        el("p", null, el("strong", null, "Amtsregeln: ")), view.rule_notes.map((t) => el("p", null, t))));
    }

    if (view.comments && view.comments.length) {
      parts.push(el("h3", null, "Kommentare"),
        el("ul", { class: "kommentare" }, view.comments.map((c) => el("li", null,
          el("strong", null, (c.kind === "returned" ? "Zurückgegeben von " : (c.kind === "approved" ? "Freigegeben von " : "")) + ((c.user && c.user.name) || "") + ": "),
          c.text, el("span", { class: "leise klein" }, " (" + Lotse.formatDateTime(c.created_at) + ", Version " + c.version + ")")))));
    }
    if (editable) {
      parts.push(editorForm(view, msgBox));
      parts.push(previewArea(view, false));
    } else {
      parts.push(previewArea(view, true));
      parts.push(el("details", { class: "karte" }, el("summary", null, "Angaben des Schreibens (Felder)"), readOnlyFields(view)));
    }
    parts.push(actionArea(view, msgBox));
    replace(briefBox, parts);
    briefBox.hidden = false;
    if (opts.message) showMessage(msgBox, opts.message[0], opts.message[1]);
    if (opts.focus) $("brief-titel").focus();
  }

  // --------------------------------------------- field rendering
  function textValue(v) {
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.join("\n");
    if (typeof v === "object") return Object.entries(v).filter(([, x]) => x).map(([k, x]) => (KEY_LABELS[k] || k) + ": " + x).join("\n");
    return String(v);
  }

  function valueNode(spec, v, name) {
    if (name === "rechtsweg" && typeof v === "string") return el("p", null, RECHTSWEG[v] || v || "–");
    if (Array.isArray(v) && v.length && v[0] && typeof v[0] === "object" && v[0].baustein) {
      return el("div", null, v.map((g) => el("div", { class: "baustein-text" }, el("strong", null, g.titel + " (" + g.rechtsgrundlage + ")"),
        el("p", { class: "vorformatiert" }, g.text))));
    }
    if (Array.isArray(v)) return v.length ? el("ul", null, v.map((x) => el("li", null, String(x)))) : el("span", { class: "leise" }, "–");
    if (v && typeof v === "object") {
      const entries = Object.entries(v).filter(([, x]) => x !== "" && x !== null && x !== undefined)
        .sort((a, b) => keyRank(a[0]) - keyRank(b[0]));
      return entries.length ? el("dl", { class: "werte" }, entries.map(([k, x]) => [el("dt", null, KEY_LABELS[k] || k), el("dd", null, String(x))]))
        : el("span", { class: "leise" }, "–");
    }
    const s = v === null || v === undefined ? "" : String(v);
    return s ? el("p", { class: "vorformatiert" }, s) : el("span", { class: "leise" }, "–");
  }

  function readOnlyFields(view) {
    const specs = view.field_specs && view.field_specs.length ? view.field_specs
      : Object.keys(view.fields || {}).map((n) => ({ name: n, type: "text" }));
    const rows = specs.map((s) => [el("dt", null, label(s.name)), el("dd", null, valueNode(s, view.fields[s.name], s.name))]);
    return el("section", { "aria-label": "Inhalt des Schreibens" }, el("h3", null, "Inhalt"), el("dl", { class: "felder" }, rows));
  }

  function editorForm(view, msgBox) {
    const specs = view.field_specs || [];
    const head = specs.filter((s) => HEAD_FIELDS.includes(s.name));
    const main = specs.filter((s) => !HEAD_FIELDS.includes(s.name));
    const form = el("form", { id: "briefformular", novalidate: true });
    if (view.missing && view.missing.length) {
      form.appendChild(el("div", { class: "hinweis", role: "note" },
        el("p", null, "Es fehlen noch Angaben: " + (view.missing_labels || view.missing.map(label)).join(", ") + ".")));
    }
    if (view.open_proposals && view.open_proposals.length) {
      form.appendChild(el("div", { class: "info", role: "note" },
        el("p", null, "Offene Vorschläge (vor dem Einreichen übernehmen oder bearbeiten): " +
          view.open_proposals.map(label).join(", ") + ".")));
    }
    for (const spec of main) form.appendChild(fieldControl(view, spec, msgBox));
    if (head.length) {
      form.appendChild(el("details", { class: "karte" },
        el("summary", null, "Briefkopf, Kontakt und Akte (aus Konfiguration und E-Akte)"),
        head.map((spec) => fieldControl(view, spec, msgBox))));
    }
    const save = el("button", { type: "submit", class: "knopf primaer", id: "speichern" }, "Speichern");
    form.appendChild(el("div", { class: "knopfleiste" }, save));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      save.disabled = true;
      try {
        const ok = await saveChanges(msgBox, true);
        if (ok === "unchanged") showMessage(msgBox, "info", "Keine Änderungen zu speichern.");
      } finally {
        save.disabled = false;
      }
    });
    return form;
  }

  function fieldControl(view, spec, msgBox) {
    const name = spec.name;
    const value = view.fields[name];
    const id = "feld-" + name;
    const hintParts = [];
    if (spec.hint) hintParts.push(/[.!?)]$/.test(spec.hint) ? spec.hint : spec.hint + ".");
    if (SOURCE_TEXT[spec.source]) hintParts.push("Herkunft: " + SOURCE_TEXT[spec.source] + ".");
    if (spec.type === "list") hintParts.push("Ein Eintrag je Zeile.");
    if (spec.type === "date") hintParts.push("Format: TT.MM.JJJJ.");
    const hint = hintParts.join(" ");
    const required = !!spec.required;
    if (spec.type === "reasons") return reasonsControl(view, spec);
    if (name === "rechtsweg") return rechtswegControl(view, spec);
    const isDict = ["address", "organisation", "person", "case"].includes(spec.type) ||
      (value && typeof value === "object" && !Array.isArray(value));
    const wrap = el("div", { class: "feld", dataset: { feld: name } });
    const proposal = view.proposals && view.proposals[name];

    if (isDict) {
      const obj = value && typeof value === "object" ? value : {};
      const keys = Object.keys(obj).sort((a, b) => keyRank(a) - keyRank(b));
      const inputs = {};
      const fs = el("fieldset", { id }, el("legend", null, label(name) + (required ? " (Pflichtangabe)" : "")));
      if (hint) fs.appendChild(el("p", { class: "hinweistext" }, hint));
      for (const k of keys) {
        const v = obj[k];
        if (v !== null && typeof v === "object") continue;  // nested values are shown, not edited
        const iid = id + "-" + k;
        const input = el("input", { type: "text", id: iid, name: name + "." + k, value: v === null || v === undefined ? "" : String(v),
          readonly: spec.type === "case" ? true : null });
        inputs[k] = input;
        fs.appendChild(el("div", { class: "feld" }, el("label", { for: iid }, KEY_LABELS[k] || k), input));
      }
      wrap.appendChild(fs);
      controls[name] = {
        spec,
        get() {
          const out = Object.assign({}, obj);
          for (const [k, input] of Object.entries(inputs)) out[k] = input.value.trim();
          return out;
        },
      };
      return wrap;
    }

    let input;
    const hintId = id + "-hinweis";
    if (spec.type === "list") {
      input = el("textarea", { id, name, rows: String(Math.max(3, Math.min(12, (value || []).length + 1))) });
      input.value = textValue(value);
    } else if (spec.type === "text" && spec.source !== "computed") {
      input = el("textarea", { id, name, rows: "4" });
      input.value = textValue(value);
    } else {
      input = el("input", { type: "text", id, name, value: textValue(value),
        inputmode: spec.type === "date" ? "numeric" : null,
        placeholder: spec.type === "date" ? "TT.MM.JJJJ" : (spec.type === "money" ? "z. B. 1.250,00 EUR" : null) });
    }
    if (required) input.setAttribute("aria-required", "true");
    if ((view.missing || []).includes(name)) input.setAttribute("aria-invalid", "true");
    if (hint) input.setAttribute("aria-describedby", hintId);
    wrap.append(el("label", { for: id }, label(name) + (required ? " (Pflichtangabe)" : "")),
      hint ? el("span", { class: "hinweistext", id: hintId }, hint) : null);
    if (proposal) wrap.appendChild(proposalBox(view, name, proposal, input, msgBox));
    wrap.appendChild(input);
    if (spec.type === "text" && ["user", "generated"].includes(spec.source)) {
      wrap.appendChild(plainLanguage(view, name, input));
    }
    controls[name] = {
      spec,
      get() {
        if (spec.type === "list") return input.value.split("\n").map((s) => s.trim()).filter(Boolean);
        return input.value;
      },
    };
    return wrap;
  }

  function rechtswegControl(view, spec) {
    const id = "feld-rechtsweg";
    const value = view.fields.rechtsweg || "";
    const select = el("select", { id, name: "rechtsweg", "aria-describedby": id + "-hinweis" },
      el("option", { value: "" }, "– bitte wählen –"),
      Object.entries(RECHTSWEG).map(([k, t]) => el("option", { value: k, selected: k === value }, t)));
    controls.rechtsweg = { spec, get: () => select.value };
    return el("div", { class: "feld", dataset: { feld: "rechtsweg" } },
      el("label", { for: id }, label("rechtsweg") + (spec.required ? " (Pflichtangabe)" : "")),
      el("span", { class: "hinweistext", id: id + "-hinweis" }, spec.hint || ""), select);
  }

  /** Reason blocks of the procedure's catalog: pick, fill the facts, see the wording. */
  function reasonsControl(view, spec) {
    const name = spec.name;
    const blocks = (view.bausteine && view.bausteine[name]) || [];
    const chosen = {};
    for (const g of view.fields[name] || []) chosen[g.baustein] = g.tatsachen || {};
    const p = (view.proposals && view.proposals[name]) || {};
    const suggested = new Set((p.suggested || []).map((x) => x.baustein));
    const fs = el("fieldset", { id: "feld-" + name, class: "bausteine" },
      el("legend", null, label(name) + (spec.required ? " (Pflichtangabe)" : "")));
    if (spec.hint) fs.appendChild(el("p", { class: "hinweistext" }, spec.hint + "."));
    if (p.message) {
      const box = el("div", { class: "vorschlag klein", dataset: { vorschlag: name } }, el("p", null, p.message));
      if (p.sources && p.sources.length) box.appendChild(Lotse.citationChips(p.sources, panel, null, "Arbeitshilfen zu " + label(name)));
      fs.appendChild(box);
    }
    if (!blocks.length) fs.appendChild(el("p", { class: "leise" }, "Für dieses Verfahren sind keine Bausteine hinterlegt."));
    const items = [];
    for (const b of blocks) {
      const cid = Lotse.uid("baustein");
      const box = el("input", { type: "checkbox", id: cid, value: b.id, checked: b.id in chosen });
      const facts = {};
      const factBox = el("div", { class: "tatsachen" });
      const preview = el("p", { class: "vorformatiert baustein-text", "aria-live": "polite" });
      const draw = () => {
        preview.textContent = b.text.replace(/\{([a-z0-9_]+)\}/g, (m, k) => (facts[k] && facts[k].value.trim()) || "[…]");
      };
      for (const f of b.tatsachen) {
        const fid = cid + "-" + f.name;
        const inp = el("input", { type: "text", id: fid, value: (chosen[b.id] || {})[f.name] || "",
          placeholder: f.beispiel ? "z. B. " + f.beispiel : null, inputmode: f.typ === "datum" ? "numeric" : null });
        inp.addEventListener("input", draw);
        facts[f.name] = inp;
        factBox.appendChild(el("div", { class: "feld" }, el("label", { for: fid }, f.frage), inp));
      }
      factBox.appendChild(el("p", { class: "klein leise" }, "So steht es im Brief:"));
      factBox.appendChild(preview);
      draw();
      factBox.hidden = !box.checked;
      box.addEventListener("change", () => { factBox.hidden = !box.checked; });
      items.push({ b, box, facts });
      fs.appendChild(el("div", { class: "baustein", dataset: { baustein: b.id } },
        el("label", { class: "auswahl", for: cid }, box, el("strong", null, b.titel)),
        el("span", { class: "klein leise" }, " Rechtsgrundlage: " + b.rechtsgrundlage),
        suggested.has(b.id) ? el("span", { class: "abzeichen" }, "passt laut Arbeitshilfen vermutlich") : null,
        factBox));
    }
    controls[name] = {
      spec,
      get() {
        return items.filter((x) => x.box.checked).map((x) => {
          const t = {};
          for (const [k, inp] of Object.entries(x.facts)) t[k] = inp.value.trim();
          return { baustein: x.b.id, tatsachen: t };
        });
      },
    };
    return el("div", { class: "feld", dataset: { feld: name } }, fs);
  }

  // --------------------------------------------- the rendered letter
  function previewArea(view, open) {
    const det = el("details", { class: "karte", id: "briefansicht", open: open || null });
    const body = el("div");
    det.append(el("summary", null, "So sieht das Schreiben aus (wie gedruckt und abgelegt)"), body);
    let loaded = false;
    const load = async () => {
      if (!det.open || loaded) return;
      loaded = true;
      Lotse.showLoading(body, "Das Schreiben wird erstellt …");
      try {
        const r = await api(letterUrl(view.id, "/preview"));
        const page = el("div", { class: "brief-rahmen" });
        page.innerHTML = r.html;  // built and escaped by the server from the Word document
        const links = el("p", { class: "klein" },
          r.pdf_available ? el("a", { href: letterUrl(view.id, "/pdf"), download: "" }, "Als PDF herunterladen (LibreOffice)")
            : "PDF nicht verfügbar (LibreOffice ist auf dem Server nicht installiert); die Ansicht zeigt das Word-Dokument.");
        replace(body, links, page);
      } catch (err) {
        loaded = false;
        showMessage(body, "fehler", "Die Ansicht konnte nicht erstellt werden: " + errorText(err));
      }
    };
    det.addEventListener("toggle", load);
    if (open) setTimeout(load, 0);
    return det;
  }

  function proposalBox(view, name, p, input, msgBox) {
    const box = el("div", { class: "vorschlag", dataset: { vorschlag: name } });
    if (p.proposal) {
      box.appendChild(el("p", null, el("span", { class: "abzeichen" }, "Vorschlag"), " ",
        p.message || "Vorschlag aus den freigegebenen Quellen – bitte prüfen, anpassen und übernehmen."));
      if (p.legal_references && p.legal_references.length) {
        box.appendChild(el("p", { class: "klein" }, "Rechtsgrundlagen: " + p.legal_references.join(", ")));
      }
      if (p.sources && p.sources.length) {
        box.appendChild(Lotse.citationChips(p.sources, panel, null, "Quellen des Vorschlags für " + label(name)));
      }
      const accept = el("button", { type: "button", class: "knopf klein primaer", "aria-label": "Vorschlag übernehmen: " + label(name) },
        "Vorschlag übernehmen");
      accept.addEventListener("click", () => acceptProposal(name, input, accept, msgBox));
      box.appendChild(el("div", { class: "knopfleiste" }, accept,
        el("span", { class: "klein leise" }, "Sie können den Text vorher im Feld ändern.")));
    } else if (p.value !== undefined || p.accepted || p.edited) {
      box.classList.add("klein");
      box.appendChild(el("p", null, p.accepted ? "Vorschlag übernommen." : (p.edited ? "Vorschlag bearbeitet übernommen." : (p.message || ""))));
      if (p.sources && p.sources.length) {
        box.appendChild(Lotse.citationChips(p.sources, panel, null, "Quellen des Vorschlags für " + label(name)));
      }
    } else if (p.message) {
      box.appendChild(el("p", { class: "klein" }, p.message));
    }
    return box;
  }

  function plainLanguage(view, name, input) {
    const out = el("div");
    const btn = el("button", { type: "button", class: "knopf klein", "aria-label": "Einfache Sprache vorschlagen: " + label(name) },
      "Einfache Sprache vorschlagen");
    btn.addEventListener("click", async () => {
      btn.disabled = true;
      Lotse.showLoading(out, "Vorschlag in einfacher Sprache wird erstellt …");
      try {
        const r = await api(letterUrl(view.id, "/plain-language"), { json: { field: name } });
        if (!r.available) {
          showMessage(out, "hinweis", r.message || "Nicht verfügbar.");
          return;
        }
        const take = el("button", { type: "button", class: "knopf klein" }, "In das Feld übernehmen");
        take.addEventListener("click", () => {
          input.value = textValue(r.value);
          clear(out);
          input.focus();
          announce("Text in einfacher Sprache in das Feld übernommen. Bitte speichern.");
        });
        replace(out, el("div", { class: "vorschlag" }, el("p", null, el("strong", null, "Vorschlag in einfacher Sprache: ")),
          el("p", { class: "vorformatiert" }, textValue(r.value)), take));
      } catch (err) {
        showMessage(out, "fehler", errorText(err));
      } finally {
        btn.disabled = false;
      }
    });
    return el("div", { class: "knopfleiste" }, btn, out);
  }

  // --------------------------------------------- saving and transitions
  function changedFields() {
    const changes = {};
    for (const [name, c] of Object.entries(controls)) {
      const now = c.get();
      let before = current.fields[name];
      if (c.spec.type === "reasons") before = (before || []).map((g) => ({ baustein: g.baustein, tatsachen: g.tatsachen }));
      if (JSON.stringify(normalize(now)) !== JSON.stringify(normalize(before))) changes[name] = now;
    }
    return changes;
  }

  function normalize(v) {
    if (v === null || v === undefined) return "";
    if (Array.isArray(v)) return v.map((x) => (x && typeof x === "object" ? normalize(x) : String(x).trim())).filter((x) => x !== "");
    if (typeof v === "object") {
      const o = {};
      for (const k of Object.keys(v).sort()) o[k] = v[k] === null || v[k] === undefined ? "" : (typeof v[k] === "string" ? v[k].trim() : (typeof v[k] === "object" ? normalize(v[k]) : v[k]));
      return o;
    }
    return String(v).trim();
  }

  /** PUT the changed fields. Returns "unchanged", true (saved) or false (failed, message shown). */
  async function saveChanges(msgBox, rerender) {
    if (!current || !EDITABLE.includes(current.state)) return "unchanged";
    const changes = changedFields();
    if (!Object.keys(changes).length) return "unchanged";
    try {
      const view = await api(letterUrl(current.id), { method: "PUT", json: { fields: changes, expected_version: current.version } });
      if (rerender) {
        showLetter(view, { message: ["erfolg", "Gespeichert (Version " + view.version + ")."] });
        announce("Gespeichert, Version " + view.version + ".");
      } else {
        current = view;
      }
      return true;
    } catch (err) {
      conflictOrError(err, msgBox);
      return false;
    }
  }

  function conflictOrError(err, msgBox) {
    if (err.status === 409) {
      const reload = el("button", { type: "button", class: "knopf klein" }, "Aktuellen Stand laden");
      reload.addEventListener("click", () => openLetter(current.id, { focus: true }));
      showMessage(msgBox, "fehler", err.message,
        el("p", null, "Ihre Eingaben stehen weiterhin im Formular. Übertragen Sie sie nach dem Neuladen erneut. ", reload));
    } else {
      showMessage(msgBox, "fehler", errorText(err));
    }
    msgBox.scrollIntoView({ block: "nearest" });
  }

  async function acceptProposal(name, input, btn, msgBox) {
    btn.disabled = true;
    try {
      // other unsaved edits first, so nothing typed is lost by the re-render
      const others = changedFields();
      delete others[name];
      if (Object.keys(others).length) {
        current = await api(letterUrl(current.id), { method: "PUT", json: { fields: others, expected_version: current.version } });
      }
      const p = current.proposals[name] || {};
      const now = controls[name].get();
      const edited = JSON.stringify(normalize(now)) !== JSON.stringify(normalize(p.value));
      const view = await api(letterUrl(current.id, "/proposals/" + encodeURIComponent(name) + "/accept"),
        { json: { expected_version: current.version, value: edited ? now : null } });
      showLetter(view, { message: ["erfolg", "Vorschlag für „" + label(name) + "“ übernommen."] });
      const next = document.getElementById("feld-" + name);
      if (next) next.focus();
    } catch (err) {
      btn.disabled = false;
      conflictOrError(err, msgBox);
    }
  }

  /** POST a state change; `success` is a text or a function view -> text | [kind, text]. */
  async function transition(path, body, msgBox, success) {
    try {
      const view = await api(letterUrl(current.id, path), { json: body || {} });
      let message = typeof success === "function" ? success(view) : success;
      if (!Array.isArray(message)) message = ["erfolg", message];
      showLetter(view, { message, focus: true });
      announce(message[1]);
      refreshLists();
      return view;
    } catch (err) {
      conflictOrError(err, msgBox);
      return null;
    }
  }

  function actionArea(view, msgBox) {
    const area = el("section", { "aria-labelledby": "aktionen-titel", class: "stapel" });
    area.appendChild(el("h3", { id: "aktionen-titel" }, "Nächste Schritte"));
    const bar = el("div", { class: "knopfleiste" });
    const docx = el("a", { class: "knopf", href: letterUrl(view.id, "/docx"), download: "", id: "docx-link" },
      "Als Word-Dokument herunterladen");
    const mine = me && view.author && view.author.id === me.user_id;

    if (EDITABLE.includes(view.state)) {
      const submit = el("button", { type: "button", class: "knopf primaer", id: "einreichen" }, "Zur Prüfung einreichen");
      submit.addEventListener("click", async () => {
        submit.disabled = true;
        const saved = await saveChanges(msgBox, false);
        if (saved === false) { submit.disabled = false; return; }
        await transition("/submit", { expected_version: current.version }, msgBox, "Zur Prüfung eingereicht.");
        submit.disabled = false;
      });
      bar.append(submit, docx);
    } else if (view.state === "submitted") {
      if (Lotse.hasRole("pruefung")) {
        area.appendChild(reviewPanel(view, msgBox, mine));
      } else {
        area.appendChild(el("p", { class: "info" }, "Das Schreiben wartet auf die Prüfung."));
      }
      bar.append(docx);
    } else if (view.state === "approved" || view.state === "to_be_filed") {
      if (view.state === "to_be_filed") {
        area.appendChild(el("div", { class: "hinweis", role: "status", id: "ablage-wartet" },
          el("p", null, "Die E-Akte war bei der Ablage nicht erreichbar. Das Schreiben wartet auf die Ablage und wird automatisch abgelegt, sobald die E-Akte wieder erreichbar ist."),
          view.filing && view.filing.error ? el("p", { class: "klein" }, "Meldung: " + view.filing.error) : null));
      }
      const file = el("button", { type: "button", class: "knopf primaer", id: "ablegen" },
        view.state === "to_be_filed" ? "Ablage jetzt erneut versuchen" : "In der E-Akte ablegen");
      file.addEventListener("click", async () => {
        file.disabled = true;
        Lotse.showLoading(msgBox, "Das Schreiben wird in der E-Akte abgelegt …");
        await transition("/file", {}, msgBox, (v) => v.state === "filed"
          ? ["erfolg", "In der E-Akte abgelegt: " + (v.filing.objname || "")]
          : ["hinweis", "Die E-Akte ist nicht erreichbar. Das Schreiben wird automatisch abgelegt, sobald sie wieder erreichbar ist."]);
        file.disabled = false;
      });
      bar.append(file, docx);
    } else if (view.state === "filed") {
      const f = view.filing || {};
      area.appendChild(el("div", { class: "erfolg", id: "ablage-quittung", role: "status" },
        el("p", null, el("strong", null, "In der E-Akte abgelegt. ")),
        el("dl", { class: "werte" },
          el("dt", null, "Dokument in der E-Akte"), el("dd", { id: "ablage-objname" }, f.objname || "–"),
          el("dt", null, "Objekt-ID"), el("dd", { class: "mono" }, f.objid || "–"),
          el("dt", null, "Abgelegt am"), el("dd", null, Lotse.formatDateTime(f.filed_at) || "–"))));
      bar.append(docx);
    } else {
      bar.append(docx);
    }
    area.appendChild(bar);
    if (view.state !== "draft") area.appendChild(versionsArea(view));
    return area;
  }

  function reviewPanel(view, msgBox, mine) {
    const box = el("div", { class: "karte", id: "pruefung" });
    box.appendChild(el("h4", null, "Prüfung"));
    const blocked = view.four_eyes && mine;
    if (blocked) {
      box.appendChild(el("p", { class: "hinweis" }, "Sie haben dieses Schreiben selbst verfasst. Nach dem Vier-Augen-Prinzip muss eine andere Person es freigeben."));
    }
    const commentId = Lotse.uid("pruefkommentar");
    const comment = el("textarea", { id: commentId, rows: "3", maxlength: "4000", "aria-describedby": commentId + "-h" });
    box.appendChild(el("div", { class: "feld" }, el("label", { for: commentId }, "Kommentar"),
      el("span", { class: "hinweistext", id: commentId + "-h" }, "Bei der Freigabe freiwillig, bei der Rückgabe Pflicht: Was soll geändert werden?"),
      comment));
    const approve = el("button", { type: "button", class: "knopf primaer", id: "freigeben", disabled: blocked }, "Freigeben");
    const back = el("button", { type: "button", class: "knopf gefahr", id: "zurueckgeben" }, "Zurückgeben");
    approve.addEventListener("click", async () => {
      approve.disabled = true;
      await transition("/approve", { expected_version: view.version, comment: comment.value.trim() || null }, msgBox, "Freigegeben.");
      approve.disabled = blocked;
    });
    back.addEventListener("click", async () => {
      if (!comment.value.trim()) {
        comment.setAttribute("aria-invalid", "true");
        showMessage(msgBox, "fehler", "Bitte schreiben Sie in den Kommentar, was geändert werden soll.");
        comment.focus();
        return;
      }
      back.disabled = true;
      await transition("/return", { expected_version: view.version, comment: comment.value.trim() }, msgBox, "Zurückgegeben.");
      back.disabled = false;
    });
    box.appendChild(el("div", { class: "knopfleiste" }, approve, back));
    return box;
  }

  // --------------------------------------------- version comparison
  function versionsArea(view) {
    const det = el("details", { class: "karte", id: "versionen" });
    const summary = el("summary", null, "Versionen vergleichen");
    const body = el("div");
    det.append(summary, body);
    let loaded = false;
    det.addEventListener("toggle", async () => {
      if (!det.open || loaded) return;
      loaded = true;
      Lotse.showLoading(body, "Versionsverlauf wird geladen …");
      try {
        const versions = await api(letterUrl(view.id, "/versions"));
        drawComparison(body, view, versions);
      } catch (err) {
        loaded = false;
        showMessage(body, "fehler", "Der Versionsverlauf konnte nicht geladen werden: " + errorText(err));
      }
    });
    if (view.state === "submitted" && Lotse.hasRole("pruefung")) det.open = true;
    return det;
  }

  const KIND_TEXT = { draft: "Entwurf erstellt", created: "Entwurf erstellt", submitted: "eingereicht", edit: "bearbeitet", proposal_accepted: "Vorschlag übernommen",
    conflict: "nicht übernommen (Konflikt)", rejected_state: "nicht übernommen (Zustand)" };

  function drawComparison(body, view, versions) {
    if (!versions.length) {
      replace(body, el("p", { class: "leise" }, "Keine Versionen vorhanden."));
      return;
    }
    const optionText = (v) => (v.version ? "Version " + v.version : "Bearbeitung Nr. " + v.seq + " (nicht übernommen)") +
      " – " + (KIND_TEXT[v.kind] || v.kind || "") + ", " + ((v.user && v.user.name) || "") + ", " + Lotse.formatDateTime(v.created_at);
    const adopted = versions.filter((v) => v.adopted !== false && v.version);
    const last = adopted[adopted.length - 1] || versions[versions.length - 1];
    // default base: the version that was returned last, else the first version
    const returned = (view.comments || []).filter((c) => c.kind === "returned").map((c) => c.version);
    let base = adopted[0] || versions[0];
    if (returned.length) base = adopted.find((v) => v.version === returned[returned.length - 1]) || base;
    const selA = el("select", { id: "version-a" }, versions.map((v) => el("option", { value: String(v.seq), selected: v === base }, optionText(v))));
    const selB = el("select", { id: "version-b" }, versions.map((v) => el("option", { value: String(v.seq), selected: v === last }, optionText(v))));
    const result = el("div", { "aria-live": "polite" });
    const draw = () => {
      const a = versions.find((v) => String(v.seq) === selA.value);
      const b = versions.find((v) => String(v.seq) === selB.value);
      const names = Array.from(new Set([...(view.field_specs || []).map((s) => s.name), ...Object.keys(a.fields || {}), ...Object.keys(b.fields || {})]));
      const diff = names.filter((n) => JSON.stringify(normalize(a.fields[n])) !== JSON.stringify(normalize(b.fields[n])));
      if (!diff.length) {
        replace(result, el("p", { class: "leise" }, "Keine Unterschiede zwischen den gewählten Versionen."));
        return;
      }
      replace(result, Lotse.table([
        { label: "Feld", value: (n) => label(n) },
        { label: "Vorher (" + selA.options[selA.selectedIndex].text.split(" – ")[0] + ")", value: (n) => el("div", { class: "diff-alt-rahmen" }, valueNode(null, a.fields[n], n)) },
        { label: "Nachher (" + selB.options[selB.selectedIndex].text.split(" – ")[0] + ")", value: (n) => valueNode(null, b.fields[n], n) },
      ], diff, diff.length + (diff.length === 1 ? " geändertes Feld" : " geänderte Felder")));
    };
    const textResult = el("div", { "aria-live": "polite", id: "textvergleich" });
    const drawText = async () => {
      try {
        const r = await api(letterUrl(view.id, "/compare"), { query: { a: selA.value, b: selB.value } });
        if (!r.changes.length) {
          replace(textResult, el("p", { class: "leise" }, "Der Brieftext ist in beiden Versionen gleich."));
          return;
        }
        replace(textResult, el("h4", null, "Änderungen im Brieftext"), el("ul", { class: "liste-schlicht textaenderungen" },
          r.changes.map((c) => el("li", null, el("span", { class: "abzeichen" }, c.art), " ",
            c.woerter.map(([op, t]) => op === "=" ? t + " " : el(op === "-" ? "del" : "ins", { class: op === "-" ? "diff-alt" : "diff-neu" }, t + " "))))));
      } catch (err) {
        showMessage(textResult, "fehler", "Der Textvergleich ist nicht verfügbar: " + errorText(err));
      }
    };
    selA.addEventListener("change", () => { draw(); drawText(); });
    selB.addEventListener("change", () => { draw(); drawText(); });
    replace(body,
      el("div", { class: "zeile" },
        el("div", { class: "feld" }, el("label", { for: "version-a" }, "Vorher"), selA),
        el("div", { class: "feld" }, el("label", { for: "version-b" }, "Nachher"), selB)),
      textResult,
      el("h4", null, "Geänderte Angaben"),
      result);
    draw();
    drawText();
  }

  // ------------------------------------------------------------------ start
  Lotse.init("letters").then((user) => {
    me = user;
    refreshLists();
    const id = new URL(location.href).searchParams.get("brief");
    if (id) openLetter(id, { focus: false });
  });
})();
