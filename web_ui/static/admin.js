/* Administration page: index status with errors and warnings, document upload/removal, re-index with progress,
   template status and import of the office's own Word templates, accounts and roles, feedback review, audit search. */
(function () {
  "use strict";
  const { el, api, replace, clear, announce, errorText, showMessage, showLoading } = Lotse;
  const $ = (id) => document.getElementById(id);
  const A = "/api/admin";
  const ROLES = ["sachbearbeitung", "pruefung", "schulung", "administration"];
  let me = null;

  function num(v) {
    return typeof v === "number" ? Lotse.formatNumber(v, 0) : (v === null || v === undefined ? "–" : String(v));
  }

  function pathParam(source) {
    return String(source).split("/").map(encodeURIComponent).join("/");
  }

  // ------------------------------------------------------------------ index
  async function loadIndex() {
    const box = $("indexstatus");
    try {
      const s = await api(A + "/index");
      const deps = Object.entries(s.documents_by_department || {});
      const errors = s.errors || [];
      const warnings = s.warnings || [];
      replace(box,
        el("ul", { class: "kennzahlen" },
          el("li", null, el("span", { class: "wert", id: "index-dokumente" }, num(s.documents)), el("span", { class: "name" }, "Dokumente")),
          el("li", null, el("span", { class: "wert" }, num(s.chunks)), el("span", { class: "name" }, "Abschnitte")),
          s.vectors !== undefined ? el("li", null, el("span", { class: "wert" }, num(s.vectors)), el("span", { class: "name" }, "Vektoren")) : null,
          el("li", null, el("span", { class: "wert" }, num(errors.length)), el("span", { class: "name" }, "Dateien mit Fehlern")),
          el("li", null, el("span", { class: "wert", id: "index-hinweise-anzahl" }, num(new Set(warnings.map((w) => w.source)).size)),
            el("span", { class: "name" }, "Dateien mit Hinweisen")),
          el("li", null, el("span", { class: "wert klein" }, s.last_indexed_at ? Lotse.formatDateTime(s.last_indexed_at) : "–"),
            el("span", { class: "name" }, "Zuletzt indiziert"))),
        deps.length ? Lotse.table([
          { label: "Fachbereich", value: (d) => d[0] },
          { label: "Dokumente", class: "zahl", value: (d) => num(d[1]) },
        ], deps, "Dokumente je Fachbereich") : null,
        errors.length
          ? Lotse.table([
            { label: "Datei", value: (e) => el("span", { class: "mono" }, e.source) },
            { label: "Fehler", value: (e) => e.reason },
          ], errors, "Fehler je Datei")
          : el("p", { class: "erfolg", id: "index-ohne-fehler" }, "Alle Dateien wurden ohne Fehler indiziert."),
        warnings.length
          ? el("div", { id: "index-hinweise" }, Lotse.table([
            { label: "Datei", value: (w) => el("span", { class: "mono" }, w.source) },
            { label: "Hinweis", value: (w) => w.reason },
          ], warnings, "Hinweise je Datei (die Datei ist indiziert)"))
          : null,
        s.embedding_model ? el("p", { class: "leise klein" }, "Sprachmodell für die Suche: " + s.embedding_model) : null);
    } catch (err) {
      showMessage(box, "fehler", "Der Indexstatus konnte nicht geladen werden: " + errorText(err));
    }
  }

  // ------------------------------------------------------------------ re-index
  const reindexBtn = $("neu-indizieren");
  reindexBtn.addEventListener("click", async () => {
    reindexBtn.disabled = true;
    const box = $("reindex");
    showLoading(box, "Neuindizierung wird gestartet …");
    try {
      const job = await api(A + "/reindex", { json: {} });
      pollJob(job);
    } catch (err) {
      reindexBtn.disabled = false;
      showMessage(box, "fehler", "Die Neuindizierung konnte nicht gestartet werden: " + errorText(err));
    }
  });

  function drawJob(job) {
    const box = $("reindex");
    const total = Math.max(job.total || 0, job.done || 0);
    const running = !job.state || job.state === "läuft" || job.state === "running";
    const progress = el("progress", { id: "reindex-fortschritt", max: String(total || 1), value: String(job.done || 0),
      "aria-labelledby": "reindex-label" });
    const label = el("p", { id: "reindex-label" }, "Fortschritt der Neuindizierung: " + (job.done || 0) + " von " + (total || "?") + " Dateien");
    const parts = [label, progress];
    if (!running) {
      const failed = job.state === "fehler" || job.state === "failed";
      parts.push(el("div", { class: failed ? "fehler" : "erfolg", role: failed ? "alert" : "status", id: "reindex-ergebnis" },
        el("p", null, job.message || (failed ? "Die Neuindizierung ist fehlgeschlagen." : "Neuindizierung abgeschlossen."))));
    }
    replace(box, parts);
  }

  async function pollJob(job) {
    drawJob(job);
    while (!job.state || job.state === "läuft" || job.state === "running") {
      await new Promise((r) => window.setTimeout(r, 1000));
      try {
        job = await api(A + "/reindex/" + encodeURIComponent(job.job_id));
      } catch (err) {
        showMessage($("reindex"), "fehler", "Der Fortschritt konnte nicht abgefragt werden: " + errorText(err));
        reindexBtn.disabled = false;
        return;
      }
      drawJob(job);
    }
    reindexBtn.disabled = false;
    announce(job.message || "Neuindizierung beendet.");
    loadIndex();
    loadDocuments();
  }

  // ------------------------------------------------------------------ documents
  async function loadDocuments() {
    const box = $("dokumente");
    try {
      const docs = await api(A + "/documents");
      if (!docs.length) {
        replace(box, el("p", { class: "leise" }, "Keine Dokumente im Index."));
        return;
      }
      replace(box, Lotse.table([
        { label: "Titel", value: (d) => d.title || d.source },
        { label: "Datei", value: (d) => el("span", { class: "mono" }, d.source) },
        { label: "Fachbereich", value: (d) => d.department || "–" },
        { label: "Art", value: (d) => d.doc_type || "–" },
        { label: "Abschnitte", class: "zahl", value: (d) => num(d.chunks) },
        { label: "Indiziert", value: (d) => Lotse.formatDateTime(d.indexed_at) },
        { label: "Aktion", value: (d) => {
          if (!d.managed) return el("span", { class: "leise klein" }, "fest eingebunden");
          const b = el("button", { type: "button", class: "knopf klein gefahr", "aria-label": "Dokument entfernen: " + (d.title || d.source) }, "Entfernen");
          b.addEventListener("click", () => removeDocument(d, b));
          return b;
        } },
      ], docs, docs.length + " Dokumente"));
    } catch (err) {
      showMessage(box, "fehler", "Die Dokumente konnten nicht geladen werden: " + errorText(err));
    }
  }

  async function removeDocument(d, button) {
    if (!window.confirm("Dokument „" + (d.title || d.source) + "“ entfernen? Es wird aus dem Index gelöscht.")) return;
    button.disabled = true;
    try {
      await api(A + "/documents/" + pathParam(d.source), { method: "DELETE" });
      announce("Dokument entfernt.");
      showMessage($("upload-meldung"), "erfolg", "Dokument „" + d.source + "“ entfernt.");
      loadDocuments();
      loadIndex();
    } catch (err) {
      button.disabled = false;
      showMessage($("upload-meldung"), "fehler", "Entfernen nicht möglich: " + errorText(err));
    }
  }

  $("upload-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    const file = $("upload-datei");
    const dep = $("upload-fachbereich");
    const msg = $("upload-meldung");
    file.removeAttribute("aria-invalid");
    dep.removeAttribute("aria-invalid");
    if (!file.files.length) {
      file.setAttribute("aria-invalid", "true");
      showMessage(msg, "fehler", "Bitte wählen Sie eine Datei aus.");
      file.focus();
      return;
    }
    if (!dep.value.trim()) {
      dep.setAttribute("aria-invalid", "true");
      showMessage(msg, "fehler", "Bitte geben Sie den Fachbereich an (z. B. S-III).");
      dep.focus();
      return;
    }
    const data = new FormData();
    data.append("file", file.files[0]);
    data.append("department", dep.value.trim());
    const art = document.getElementById("upload-art");
    if (art && art.value) data.append("doc_type", art.value);
    const btn = form.querySelector("button[type=submit]");
    btn.disabled = true;
    showLoading(msg, "Datei wird hochgeladen und indiziert …");
    try {
      const r = await api(A + "/documents", { form: data });
      showMessage(msg, "erfolg", "Hochgeladen und indiziert: " + (r.source || file.files[0].name) + ".");
      form.reset();
      loadDocuments();
      loadIndex();
    } catch (err) {
      showMessage(msg, "fehler", "Das Hochladen ist fehlgeschlagen: " + errorText(err));
    } finally {
      btn.disabled = false;
    }
  });

  // ------------------------------------------------------------------ templates
  async function loadTemplates() {
    const box = $("vorlagen");
    try {
      const t = await api(A + "/templates");
      if (t.available === false) {
        replace(box, el("p", { class: "hinweis" }, "Die Schreiben-Funktion ist nicht eingerichtet."));
        return;
      }
      const problems = t.problems || [];
      replace(box,
        Lotse.table([
          { label: "Vorlage", value: (x) => x.title || x.name },
          { label: "Name", value: (x) => el("span", { class: "mono" }, x.name) },
          { label: "Verfahren", value: (x) => (x.case_types || []).join(", ") },
          { label: "Vier Augen", value: (x) => (x.four_eyes ? "ja" : "nein") },
          { label: "Felder", class: "zahl", value: (x) => String((x.fields || []).length) },
        ], t.templates || [], (t.templates || []).length + " nutzbare Vorlagen"),
        problems.length
          ? Lotse.table([
            { label: "Vorlage", value: (p) => p.template },
            { label: "Datei", value: (p) => el("span", { class: "mono" }, p.file || "") },
            { label: "Art", value: (p) => el("span", { class: "abzeichen " + (p.severity === "fehler" ? "abgelehnt" : "ersatz") }, p.severity === "fehler" ? "Fehler" : "Hinweis") },
            { label: "Meldung", value: (p) => p.message },
          ], problems, "Probleme")
          : el("p", { class: "erfolg" }, "Alle Vorlagen sind in Ordnung."));
    } catch (err) {
      showMessage(box, "fehler", "Die Vorlagen konnten nicht geladen werden: " + errorText(err));
    }
  }

  // ------------------------------------------------------------------ template import
  // detect -> show placeholders -> map -> save; the file is sent again with the mapping (no server state)
  const KIND_OPTIONS = [["case", "Feld aus Akte/Konfiguration"], ["user", "Eingabe der Sachbearbeitung"],
    ["generated", "Textvorschlag aus der Wissensbasis"], ["computed", "berechnetes Datum"], ["keep", "kein Platzhalter (Text bleibt)"]];

  function mappingRow(p, choices, i) {
    const s = p.suggestion || { kind: "user" };
    const kind = el("select", { id: "zuordnung-art-" + i, "aria-label": "Zuordnung für " + p.text },
      KIND_OPTIONS.map(([v, l]) => el("option", { value: v, selected: v === s.kind }, l)));
    const caseSel = el("select", { "aria-label": "Aktenfeld für " + p.text },
      Object.entries(choices.case_fields).map(([v, l]) => el("option", { value: v, selected: v === s.target }, l)));
    const rule = el("input", { type: "text", "aria-label": "Datumsregel für " + p.text,
      value: s.kind === "computed" ? s.target : "today", placeholder: "today, workdays:14, months:1" });
    const query = el("input", { type: "text", "aria-label": "Suchanfrage für " + p.text,
      value: s.kind === "generated" ? s.target : p.label });
    const typ = el("select", { "aria-label": "Art der Eingabe für " + p.text },
      [["text", "Text"], ["date", "Datum"], ["money", "Betrag"]].map(([v, l]) => el("option", { value: v, selected: v === (s.type || "text") }, l)));
    const detail = el("div", { class: "zuordnung-ziel" });
    function show() {
      const k = kind.value;
      replace(detail, k === "case" ? caseSel : k === "computed" ? rule : k === "generated" ? query : k === "user" ? typ : el("span", { class: "leise klein" }, "–"));
    }
    kind.addEventListener("change", show);
    show();
    const read = () => {
      const k = kind.value;
      if (k === "case") return { kind: k, target: caseSel.value };
      if (k === "computed") return { kind: k, target: rule.value.trim() };
      if (k === "generated") return { kind: k, target: query.value.trim() };
      if (k === "user") return { kind: k, type: typ.value, hint: p.label };
      return { kind: k };
    };
    return { p, kind, detail, read };
  }

  function reportView(rep) {
    const list = (title, items, cls) => el("div", { class: "bericht-teil" },
      el("h4", null, title + " (" + items.length + ")"),
      items.length ? el("ul", { class: cls }, items.map((t) => el("li", null, t))) : el("p", { class: "leise klein" }, "nichts"));
    return el("div", { class: "importbericht", id: "importbericht" },
      el("h3", null, "Importbericht"), el("p", null, rep.headline || ""),
      list("Übernommen", rep.taken, null), list("Übersprungen", rep.skipped, null),
      list("Zu entscheiden", rep.decisions, null));
  }

  async function analyseTemplate(file) {
    const box = $("vorlage-import");
    showLoading(box, "Platzhalter werden erkannt …");
    const data = new FormData();
    data.append("file", file);
    let a;
    try {
      a = await api(A + "/templates/import/analyze", { form: data });
    } catch (err) {
      showMessage(box, "fehler", "Die Datei konnte nicht geprüft werden: " + errorText(err));
      return;
    }
    const rows = a.placeholders.map((p, i) => mappingRow(p, a.choices, i));
    const name = el("input", { type: "text", id: "vorlage-name", value: a.suggested_name, maxlength: "61", required: true });
    const title = el("input", { type: "text", id: "vorlage-titel", value: a.file_name.replace(/\.docx$/i, ""), maxlength: "200", required: true });
    const cases = el("fieldset", null, el("legend", null, "Verfahrensarten"),
      a.choices.case_types.map((c) => el("label", { class: "auswahl", for: "vorlage-verfahren-" + c },
        el("input", { type: "checkbox", id: "vorlage-verfahren-" + c, value: c, checked: true }), c)));
    const four = el("input", { type: "checkbox", id: "vorlage-vier-augen" });
    const replaceBox = el("input", { type: "checkbox", id: "vorlage-ersetzen" });
    const save = el("button", { type: "button", class: "knopf primaer", id: "vorlage-speichern" }, "Vorlage speichern");
    const result = el("div", { id: "vorlage-ergebnis", "aria-live": "polite" });
    replace(box,
      el("p", null, a.placeholders.length + " Platzhalter in „" + a.file_name + "“ erkannt. Bitte die Zuordnung prüfen."),
      a.placeholders.length ? Lotse.table([
        { label: "Platzhalter", value: (r) => el("span", { class: "mono" }, r.p.text) },
        { label: "Schreibweise", value: (r) => r.p.style_label },
        { label: "Fundort", value: (r) => r.p.where.join(", ") + (r.p.count > 1 ? " (" + r.p.count + "×)" : "") },
        { label: "Zuordnung", value: (r) => el("div", null, r.kind, r.p.confident ? null : el("span", { class: "abzeichen ersatz" }, "bitte prüfen")) },
        { label: "Ziel", value: (r) => r.detail },
      ], rows, "Erkannte Platzhalter") : null,
      a.problems.length ? el("div", { class: "hinweis", role: "status" },
        el("p", null, "Fehlerhafte Platzhalter (bleiben als Text stehen, bitte in Word korrigieren):"),
        el("ul", null, a.problems.map((f) => el("li", null, el("span", { class: "mono" }, f.text), " – " + f.where + ": " + f.message)))) : null,
      el("div", { class: "zeile" }, Lotse.field("Name der Vorlage", name, "Kleinbuchstaben, Ziffern, _"), Lotse.field("Titel", title)),
      cases,
      el("div", { class: "zeile" }, el("label", { class: "auswahl", for: four.id }, four, "Vier-Augen-Prinzip"),
        el("label", { class: "auswahl", for: replaceBox.id }, replaceBox, "vorhandene Vorlage gleichen Namens ersetzen")),
      el("div", { class: "knopfleiste" }, save), result);
    save.addEventListener("click", async () => {
      const mapping = {};
      rows.forEach((r) => { mapping[r.p.key] = r.read(); });
      const body = new FormData();
      body.append("file", file);
      body.append("name", name.value.trim());
      body.append("title", title.value.trim());
      body.append("case_types", Array.from(cases.querySelectorAll("input:checked")).map((c) => c.value).join(","));
      body.append("four_eyes", four.checked ? "true" : "false");
      body.append("replace", replaceBox.checked ? "true" : "false");
      body.append("mapping", JSON.stringify(mapping));
      save.disabled = true;
      showLoading(result, "Vorlage wird umgewandelt und geprüft …");
      try {
        const r = await api(A + "/templates/import", { form: body });
        replace(result, el("p", { class: "erfolg", role: "status" }, "Vorlage „" + r.name + "“ gespeichert und sofort nutzbar."), reportView(r.report));
        announce("Vorlage gespeichert.");
        loadTemplates();
      } catch (err) {
        showMessage(result, "fehler", "Die Vorlage wurde nicht gespeichert: " + errorText(err));
      } finally {
        save.disabled = false;
      }
    });
  }

  $("vorlage-import-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const file = $("vorlage-datei");
    if (!file.files.length) {
      file.setAttribute("aria-invalid", "true");
      showMessage($("vorlage-import"), "fehler", "Bitte wählen Sie eine Word-Datei (.docx) aus.");
      file.focus();
      return;
    }
    file.removeAttribute("aria-invalid");
    analyseTemplate(file.files[0]);
  });

  // ------------------------------------------------------------------ accounts
  function rolesFieldset(prefix, selected) {
    return el("fieldset", null, el("legend", null, "Rollen"),
      ROLES.map((r) => {
        const id = prefix + "-rolle-" + r;
        return el("label", { class: "auswahl", for: id },
          el("input", { type: "checkbox", id, name: "roles", value: r, checked: (selected || []).includes(r) }),
          Lotse.ROLE_LABELS[r] || r);
      }));
  }

  function readDepartments(value) {
    const list = value.split(",").map((s) => s.trim()).filter(Boolean);
    return !list.length || list.includes("*") ? null : list;
  }

  function accountForm(user) {
    const prefix = user ? "konto-" + user.id.replace(/[^\w-]/g, "_") : "konto-neu";
    const msg = el("div");
    const inputs = {
      id: user ? null : el("input", { type: "text", id: prefix + "-id", autocomplete: "off", required: true, maxlength: "200" }),
      name: el("input", { type: "text", id: prefix + "-name", autocomplete: "off", value: user ? user.display_name : "", required: true, maxlength: "200" }),
      deps: el("input", { type: "text", id: prefix + "-fachbereiche", autocomplete: "off",
        value: user ? (user.departments === null ? "*" : (user.departments || []).join(", ")) : "" }),
      password: el("input", { type: "password", id: prefix + "-passwort", autocomplete: "new-password", maxlength: "1000", required: !user }),
      active: user ? el("input", { type: "checkbox", id: prefix + "-aktiv", checked: user.active }) : null,
    };
    // the person's own contact, printed in the information block of letters (empty: no line)
    const k = (user && user.kontakt) || {};
    const contact = user ? {
      zimmer: el("input", { type: "text", id: prefix + "-zimmer", autocomplete: "off", value: k.zimmer || "", maxlength: "50" }),
      telefon: el("input", { type: "text", id: prefix + "-telefon", autocomplete: "off", value: k.telefon || "", maxlength: "50" }),
      email: el("input", { type: "email", id: prefix + "-email", autocomplete: "off", value: k.email || "", maxlength: "200" }),
    } : null;
    const roles = rolesFieldset(prefix, user ? user.roles : ["sachbearbeitung"]);
    const form = el("form", { class: "stapel", novalidate: true, "aria-label": user ? "Konto " + user.id + " bearbeiten" : "Neues Konto" },
      user ? null : Lotse.field("Benutzername", inputs.id),
      Lotse.field("Anzeigename", inputs.name),
      roles,
      Lotse.field("Fachbereiche", inputs.deps, "Kommagetrennt, z. B. S-III, S-I. Leer oder * bedeutet alle Fachbereiche."),
      Lotse.field(user ? "Neues Passwort (leer lassen: unverändert)" : "Passwort", inputs.password, "Mindestens 10 Zeichen."),
      user ? el("label", { class: "auswahl", for: inputs.active.id }, inputs.active, "Konto aktiv (nicht gesperrt)") : null,
      contact ? el("fieldset", null, el("legend", null, "Kontakt auf Briefen"),
        Lotse.field("Zimmer", contact.zimmer),
        Lotse.field("Telefon (Durchwahl)", contact.telefon, "z. B. 089 233-96123"),
        Lotse.field("E-Mail", contact.email),
        el("p", { class: "hinweistext" }, "Bei Anmeldung per Single Sign-on kommen die Angaben aus dem Verzeichnis, soweit es sie liefert.")) : null,
      el("div", { class: "knopfleiste" }, el("button", { type: "submit", class: "knopf primaer" }, user ? "Änderungen speichern" : "Konto anlegen")),
      msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const chosen = Array.from(form.querySelectorAll("input[name=roles]:checked")).map((i) => i.value);
      if (!chosen.length) {
        showMessage(msg, "fehler", "Bitte wählen Sie mindestens eine Rolle.");
        return;
      }
      if (!inputs.name.value.trim() || (!user && (!inputs.id.value.trim() || !inputs.password.value))) {
        showMessage(msg, "fehler", "Bitte füllen Sie Benutzername, Anzeigename und Passwort aus.");
        return;
      }
      const deps = readDepartments(inputs.deps.value);
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      try {
        if (user) {
          const body = { display_name: inputs.name.value.trim(), roles: chosen, departments: deps === null ? ["*"] : deps,
            active: inputs.active.checked };
          if (inputs.password.value) body.password = inputs.password.value;
          body.kontakt = { zimmer: contact.zimmer.value.trim(), telefon: contact.telefon.value.trim(), email: contact.email.value.trim() };
          await api(A + "/users/" + encodeURIComponent(user.id), { method: "PUT", json: body });
          announce("Konto " + user.id + " gespeichert.");
        } else {
          await api(A + "/users", { json: { id: inputs.id.value.trim(), display_name: inputs.name.value.trim(), roles: chosen,
            departments: deps, password: inputs.password.value } });
          announce("Konto angelegt.");
          form.reset();
        }
        await loadUsers(user ? "Konto „" + user.id + "“ gespeichert." : "Konto angelegt.");
      } catch (err) {
        showMessage(msg, "fehler", errorText(err));
      } finally {
        btn.disabled = false;
      }
    });
    return form;
  }

  async function loadUsers(okMessage) {
    const box = $("konten");
    try {
      const users = await api(A + "/users");
      const rows = users.map((u) => {
        const edit = el("details", null, el("summary", { "aria-label": "Konto " + u.id + " bearbeiten" }, "Bearbeiten"), accountForm(u));
        return { u, edit };
      });
      replace(box,
        okMessage ? el("p", { class: "erfolg", role: "status" }, okMessage) : null,
        Lotse.table([
          { label: "Benutzername", value: (r) => el("span", { class: "mono" }, r.u.id) },
          { label: "Name", value: (r) => r.u.display_name },
          { label: "Rollen", value: (r) => (r.u.roles || []).map((x) => Lotse.ROLE_LABELS[x] || x).join(", ") },
          { label: "Fachbereiche", value: (r) => (r.u.departments === null ? "alle" : (r.u.departments || []).join(", ") || "keine") },
          { label: "Anmeldung", value: (r) => (r.u.source === "oidc" || r.u.source === "sso" ? "Single Sign-on" : "lokal") },
          { label: "Status", value: (r) => el("span", { class: "abzeichen " + (r.u.active ? "zustand-filed" : "abgelehnt") }, r.u.active ? "aktiv" : "gesperrt") },
          { label: "Letzte Anmeldung", value: (r) => Lotse.formatDateTime(r.u.last_login_at) || "–" },
          { label: "Aktion", value: (r) => r.edit },
        ], rows, users.length + " Konten"));
    } catch (err) {
      showMessage(box, "fehler", "Die Konten konnten nicht geladen werden: " + errorText(err));
    }
  }

  // ------------------------------------------------------------------ feedback
  async function loadFeedback() {
    const box = $("rueckmeldungen");
    showLoading(box);
    try {
      const rows = await api(A + "/feedback", { query: { rating: $("rueckmeldungen-filter").value } });
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Keine Rückmeldungen."));
        return;
      }
      replace(box, Lotse.table([
        { label: "Datum", value: (f) => Lotse.formatDateTime(f.created_at) },
        { label: "Bewertung", value: (f) => el("span", { class: "abzeichen " + (f.rating === "up" ? "zustand-filed" : "abgelehnt") }, f.rating === "up" ? "hilfreich" : "nicht hilfreich") },
        { label: "Frage", value: (f) => f.question || "–" },
        { label: "Kommentar", value: (f) => f.comment || "–" },
        { label: "Antwort", value: (f) => f.answer ? el("details", null, el("summary", null, "Antwort anzeigen"),
          el("p", { class: "vorformatiert klein" }, f.answer), f.provider ? el("p", { class: "leise klein" }, "Erstellt mit: " + f.provider) : null) : "–" },
      ], rows, rows.length + " Rückmeldungen"));
    } catch (err) {
      showMessage(box, "fehler", "Die Rückmeldungen konnten nicht geladen werden: " + errorText(err));
    }
  }
  $("rueckmeldungen-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadFeedback();
  });

  // ------------------------------------------------------------------ audit
  async function loadAudit() {
    const box = $("protokoll");
    showLoading(box);
    try {
      const rows = await api(A + "/audit", { query: {
        user: $("protokoll-person").value.trim(), action: $("protokoll-aktion").value.trim(),
        from: $("protokoll-von").value, to: $("protokoll-bis").value } });
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Keine Einträge für diese Suche."));
        return;
      }
      replace(box, Lotse.table([
        { label: "Zeit", value: (a) => Lotse.formatDateTime(a.at) },
        { label: "Person", value: (a) => a.user_id },
        { label: "Aktion", value: (a) => el("span", { class: "mono" }, a.action) },
        { label: "Objekt", value: (a) => a.object_id ? el("span", { class: "mono klein" }, a.object_id) : "–" },
        { label: "Ergebnis", value: (a) => a.outcome || "–" },
      ], rows, rows.length + " Einträge (neueste zuerst)"));
    } catch (err) {
      showMessage(box, "fehler", "Die Suche ist fehlgeschlagen: " + errorText(err));
    }
  }
  $("protokoll-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadAudit();
  });

  // ------------------------------------------------------------------ start
  Lotse.init("admin", ["administration"]).then((user) => {
    me = user;
    if (!me) return;
    replace($("konto-neu-formular"), accountForm(null));
    loadIndex();
    loadDocuments();
    loadTemplates();
    loadUsers();
    loadFeedback();
    loadAudit();
  });
})();
