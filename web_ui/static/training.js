/* Training page: learning paths with steps and citations, quizzes (cloze and multiple choice) with
   graded results, own results; for role schulung: model answers, insights, everyone's results. */
(function () {
  "use strict";
  const { el, api, replace, clear, announce, errorText, showMessage, showLoading } = Lotse;
  const $ = (id) => document.getElementById(id);
  const panel = new Lotse.SourcePanel($("quelle"), $("layout"));
  const BLANK = "_____";
  const T = "/api/training";

  function percent(score, total) {
    return total ? Math.round((100 * score) / total) : 0;
  }

  /** Prompt text with the gap shown as a marked blank (and named for screen readers). */
  function promptNode(prompt) {
    const p = el("p", { class: "quiztext" });
    const parts = String(prompt || "").split(BLANK);
    parts.forEach((part, i) => {
      p.appendChild(document.createTextNode(part));
      if (i < parts.length - 1) {
        p.appendChild(el("span", { class: "luecke" }, el("span", { "aria-hidden": "true" }, "______"),
          el("span", { class: "visually-hidden" }, " (Lücke) ")));
      }
    });
    return p;
  }

  // ------------------------------------------------------------------ paths
  async function loadPaths() {
    const box = $("pfade");
    let paths;
    try {
      paths = await api(T + "/paths");
    } catch (err) {
      showMessage(box, "fehler", "Die Lernpfade konnten nicht geladen werden: " + errorText(err));
      return;
    }
    if (!paths.length) {
      replace(box, el("p", { class: "leise" }, "Für Ihre Fachbereiche gibt es noch keine Lernpfade."));
      return;
    }
    replace(box, el("ul", { class: "liste-schlicht" }, paths.map((p) => {
      const b = el("button", { type: "button", class: "knopf klein", "aria-label": "Lernpfad öffnen: " + p.title }, "Öffnen");
      b.addEventListener("click", () => openPath(p.id));
      const steps = typeof p.steps === "number" ? p.steps : (p.steps || []).length;
      return el("li", { dataset: { pfad: p.id } }, el("div", { class: "briefzeile" },
        el("div", null, el("strong", null, p.title), el("br"),
          el("span", { class: "leise klein" }, (p.department ? "Fachbereich " + p.department + ", " : "") + steps + (steps === 1 ? " Schritt" : " Schritte")),
          p.description ? el("p", { class: "klein" }, p.description) : null),
        b));
    })));
  }

  async function openPath(id) {
    const box = $("pfad");
    box.hidden = false;
    $("quiz").hidden = true;
    showLoading(box, "Lernpfad wird geladen …");
    let p;
    try {
      p = await api(T + "/paths/" + encodeURIComponent(id));
    } catch (err) {
      showMessage(box, "fehler", "Der Lernpfad konnte nicht geladen werden: " + errorText(err));
      return;
    }
    const start = el("button", { type: "button", class: "knopf primaer", id: "quiz-starten" }, "Quiz zu diesem Lernpfad starten");
    start.addEventListener("click", () => startQuiz(p, start));
    replace(box,
      el("h2", { id: "pfad-titel", tabindex: "-1" }, p.title),
      p.description ? el("p", null, p.description) : null,
      el("ol", { class: "schritte" }, (p.steps || []).map((st) => {
        const text = el("div", { class: "antworttext" });
        Lotse.renderRichText(text, st.text || "", null);
        return el("li", null, el("h3", null, st.title), text,
          (st.citations && st.citations.length)
            ? Lotse.citationChips(st.citations.map((c) => Object.assign({}, c, { n: null })), panel, null, "Quelle zu Schritt " + st.n)
            : null);
      })),
      el("div", { class: "knopfleiste" }, start));
    $("pfad-titel").focus();
  }

  // ------------------------------------------------------------------ quiz
  async function startQuiz(path, button) {
    const box = $("quiz");
    box.hidden = false;
    button.disabled = true;
    showLoading(box, "Quiz wird erstellt …");
    let quiz;
    try {
      quiz = await api(T + "/paths/" + encodeURIComponent(path.id) + "/quiz", { json: {} });
    } catch (err) {
      showMessage(box, "fehler", "Das Quiz konnte nicht erstellt werden: " + errorText(err));
      return;
    } finally {
      button.disabled = false;
    }
    const n = quiz.questions.length;
    const form = el("form", { id: "quizformular", novalidate: true });
    quiz.questions.forEach((q, i) => {
      const legendId = "frage-" + q.id + "-titel";
      const fs = el("fieldset", { class: "quizfrage", dataset: { frage: q.id, art: q.kind } },
        el("legend", { id: legendId }, "Frage " + (i + 1) + " von " + n + (q.kind === "choice" ? " (Auswahl)" : " (Lückentext)")),
        promptNode(q.prompt),
        q.hint ? el("p", { class: "hinweistext", id: legendId + "-h" }, q.hint) : null);
      if (q.kind === "choice" && q.options && q.options.length) {
        q.options.forEach((opt, j) => {
          const oid = "frage-" + q.id + "-" + j;
          fs.appendChild(el("label", { class: "auswahl", for: oid },
            el("input", { type: "radio", id: oid, name: "q-" + q.id, value: opt }), opt));
        });
      } else {
        const iid = "frage-" + q.id + "-antwort";
        fs.appendChild(el("div", { class: "feld" },
          el("label", { for: iid }, "Ihre Antwort für die Lücke"),
          el("input", { type: "text", id: iid, name: "q-" + q.id, autocomplete: "off",
            "aria-describedby": q.hint ? legendId + "-h" : null })));
      }
      form.appendChild(fs);
    });
    const msg = el("div");
    const submit = el("button", { type: "submit", class: "knopf primaer", id: "quiz-auswerten" }, "Antworten auswerten");
    form.append(el("div", { class: "knopfleiste" }, submit), msg);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const answers = {};
      let open = 0;
      for (const q of quiz.questions) {
        let v = "";
        if (q.kind === "choice" && q.options && q.options.length) {
          const c = form.querySelector('input[name="q-' + CSS.escape(q.id) + '"]:checked');
          v = c ? c.value : "";
        } else {
          const input = form.querySelector('input[name="q-' + CSS.escape(q.id) + '"]');
          v = input ? input.value.trim() : "";
        }
        if (!v) open += 1;
        answers[q.id] = v;
      }
      if (open && !window.confirm(open + (open === 1 ? " Frage ist" : " Fragen sind") + " noch offen. Trotzdem auswerten?")) return;
      submit.disabled = true;
      showLoading(msg, "Antworten werden ausgewertet …");
      try {
        const result = await api(T + "/quizzes/" + encodeURIComponent(quiz.quiz_id) + "/answers", { json: { answers } });
        showResult(quiz, result);
        loadResults();
        if (Lotse.hasRole("schulung")) loadAllResults();
      } catch (err) {
        submit.disabled = false;
        showMessage(msg, "fehler", "Die Auswertung ist fehlgeschlagen: " + errorText(err));
      }
    });
    replace(box, el("h2", { id: "quiz-titel", tabindex: "-1" }, "Quiz: " + (quiz.title || path.title)),
      el("p", { class: "leise" }, "Beantworten Sie die Fragen und lassen Sie sie dann auswerten. Zu jeder Frage sehen Sie danach die Erklärung und die Quelle."),
      form);
    $("quiz-titel").focus();
  }

  function showResult(quiz, result) {
    const box = $("quiz");
    const byId = {};
    for (const q of quiz.questions) byId[q.id] = q;
    const pct = percent(result.score, result.total);
    const items = (result.results || []).map((r, i) => {
      const q = byId[r.id] || {};
      return el("li", { class: "quizfrage " + (r.correct ? "ergebnis-richtig" : "ergebnis-falsch"), dataset: { frage: r.id } },
        el("h3", null, "Frage " + (i + 1) + ": ", el("span", { class: "abzeichen " + (r.correct ? "zustand-filed" : "abgelehnt") },
          r.correct ? "richtig" : "nicht richtig")),
        promptNode(q.prompt || ""),
        el("p", null, "Ihre Antwort: ", el("strong", null, r.given || "(keine Antwort)")),
        r.correct ? null : el("p", null, "Richtig ist: ", el("strong", null, r.expected || "")),
        r.explanation ? el("p", { class: "klein" }, r.explanation) : null,
        r.citation ? Lotse.citationChips([Object.assign({}, r.citation, { n: null })], panel, () => (r.explanation ? [String(r.explanation).replace(/^Laut „[^“]*“, Abschnitt „[^“]*“:\s*/, "")] : []), "Quelle zu Frage " + (i + 1)) : null);
    });
    replace(box,
      el("h2", { id: "quiz-titel", tabindex: "-1" }, "Ergebnis: " + (quiz.title || "")),
      el("p", { class: "punkte", id: "quiz-ergebnis", role: "status" }, result.score + " von " + result.total + " richtig (" + pct + " %)"),
      el("ol", { class: "liste-schlicht" }, items),
      el("div", { class: "knopfleiste" }, (() => {
        const again = el("button", { type: "button", class: "knopf" }, "Neues Quiz zu diesem Lernpfad");
        again.addEventListener("click", () => startQuiz({ id: quiz.path_id, title: quiz.title }, again));
        return again;
      })()));
    $("quiz-titel").focus();
    announce("Quiz ausgewertet: " + result.score + " von " + result.total + " richtig.");
  }

  // ------------------------------------------------------------------ results
  function resultRows(data) {
    return Array.isArray(data) ? data : (data && data.results) || [];
  }

  /** The learner's choice whether trainers see their results by name (default: no). */
  async function consentNode() {
    const box = el("div", { class: "einwilligung" });
    let share = false;
    try {
      share = !!(await api(T + "/consent")).share_name;
    } catch (err) {
      return el("p", { class: "leise klein" }, "Ihre Einwilligung konnte nicht geladen werden: " + errorText(err));
    }
    const status = el("p", { class: "leise klein", role: "status" });
    const box2 = el("input", { type: "checkbox", id: "einwilligung-name", checked: share });
    box2.addEventListener("change", async () => {
      try {
        const r = await api(T + "/consent", { method: "PUT", json: { share_name: box2.checked } });
        status.textContent = r.share_name
          ? "Gespeichert: Trainerinnen und Trainer sehen Ihre Ergebnisse mit Ihrem Namen."
          : "Gespeichert: Trainerinnen und Trainer sehen Ihre Ergebnisse nur ohne Namen.";
      } catch (err) {
        box2.checked = !box2.checked;
        status.textContent = "Nicht gespeichert: " + errorText(err);
      }
    });
    box.append(el("div", { class: "zeile" }, box2,
      el("label", { for: "einwilligung-name" }, "Trainerinnen und Trainer dürfen meine Ergebnisse mit meinem Namen sehen")),
      el("p", { class: "leise klein" }, "Ohne Ihre Einwilligung erscheinen Ihre Ergebnisse dort nur unter einem Pseudonym "
        + "und zusammengefasst je Lernpfad. Sie können die Einwilligung jederzeit widerrufen."), status);
    return box;
  }

  async function loadResults() {
    const box = $("ergebnisse");
    const consent = await consentNode();
    try {
      const rows = resultRows(await api(T + "/results"));
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Sie haben noch kein Quiz abgeschlossen."), consent);
        return;
      }
      replace(box, Lotse.table([
        { label: "Lernpfad", value: (r) => r.path_title || r.path_id },
        { label: "Ergebnis", class: "zahl", value: (r) => r.score + " / " + r.total + " (" + (r.percent !== undefined ? r.percent : percent(r.score, r.total)) + " %)" },
        { label: "Datum", value: (r) => Lotse.formatDateTime(r.created_at) },
      ], rows), consent);
    } catch (err) {
      showMessage(box, "fehler", "Ihre Ergebnisse konnten nicht geladen werden: " + errorText(err));
    }
  }

  /** A date-time, or a plain day (pseudonymised rows carry only the day). */
  function when(value) {
    return /^\d{4}-\d{2}-\d{2}$/.test(String(value || "")) ? value.split("-").reverse().join(".") : Lotse.formatDateTime(value);
  }

  async function loadAllResults() {
    const box = $("alle-ergebnisse");
    showLoading(box);
    try {
      const data = await api(T + "/results", { query: { all: "true" } });
      const rows = resultRows(data);
      const learners = (data && data.learners) || [];
      const groups = (data && data.groups) || [];
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Noch keine Ergebnisse aus Ihren Fachbereichen."));
        return;
      }
      replace(box,
        el("p", { class: "leise klein" }, "Namen erscheinen nur bei Lernenden, die eingewilligt haben; alle anderen "
          + "unter einem Pseudonym („Lernende:r 1“ …) und nur mit dem Tag des Quiz. Nur Lernende Ihrer Fachbereiche."),
        groups.length ? Lotse.table([
          { label: "Lernpfad", value: (g) => g.path_title || g.path_id },
          { label: "Quiz", class: "zahl", value: (g) => String(g.quizzes) },
          { label: "Lernende", class: "zahl", value: (g) => String(g.learners) },
          { label: "Richtig", class: "zahl", value: (g) => g.score + " / " + g.total + " (" + g.percent + " %)" },
        ], groups, "Übersicht je Lernpfad") : null,
        learners.length ? Lotse.table([
          { label: "Person", value: (l) => l.display_name },
          { label: "Quiz", class: "zahl", value: (l) => String(l.quizzes) },
          { label: "Richtig", class: "zahl", value: (l) => l.score + " / " + l.total + " (" + l.percent + " %)" },
          { label: "Lernpfade", value: (l) => (l.paths || []).join(", ") },
          { label: "Zuletzt", value: (l) => when(l.last_at) },
        ], learners, "Übersicht je Person") : null,
        Lotse.table([
          { label: "Person", value: (r) => r.display_name },
          { label: "Lernpfad", value: (r) => r.path_title || r.path_id },
          { label: "Ergebnis", class: "zahl", value: (r) => r.score + " / " + r.total },
          { label: "Datum", value: (r) => when(r.created_at) },
        ], rows, "Alle Quiz-Ergebnisse"));
    } catch (err) {
      showMessage(box, "fehler", "Die Ergebnisse konnten nicht geladen werden: " + errorText(err));
    }
  }

  // ------------------------------------------------------------------ trainer
  async function loadModelAnswers() {
    const box = $("musterantworten");
    showLoading(box);
    try {
      const rows = await api(T + "/model-answers");
      if (!rows.length) {
        replace(box, el("p", { class: "leise" }, "Noch keine Musterantworten."));
        return;
      }
      replace(box, el("ul", { class: "liste-schlicht" }, rows.map((m) => {
        const del = el("button", { type: "button", class: "knopf klein gefahr", "aria-label": "Musterantwort löschen: " + m.question }, "Löschen");
        del.addEventListener("click", async () => {
          if (!window.confirm("Musterantwort „" + m.question + "“ löschen?")) return;
          del.disabled = true;
          try {
            await api(T + "/model-answers/" + encodeURIComponent(m.id), { method: "DELETE" });
            announce("Musterantwort gelöscht.");
            loadModelAnswers();
          } catch (err) {
            del.disabled = false;
            showMessage(box, "fehler", "Löschen nicht möglich: " + errorText(err));
          }
        });
        const text = el("div", { class: "antworttext klein" });
        Lotse.renderRichText(text, m.answer, null);
        return el("li", null,
          el("details", null, el("summary", null, m.question),
            text,
            Lotse.citationChips(m.citations || [], panel, null, "Quellen der Musterantwort"),
            el("p", { class: "leise klein" }, "Angelegt " + Lotse.formatDateTime(m.created_at) + (m.created_by ? " von " + m.created_by : ""))),
          el("div", { class: "knopfleiste" }, del));
      })));
    } catch (err) {
      showMessage(box, "fehler", "Die Musterantworten konnten nicht geladen werden: " + errorText(err));
    }
  }

  async function loadInsights() {
    const box = $("einblicke");
    showLoading(box);
    try {
      const data = await api(T + "/insights", { query: { from: $("einblicke-von").value, to: $("einblicke-bis").value } });
      if (data.from && !$("einblicke-von").value) $("einblicke-von").value = data.from;
      if (data.to && !$("einblicke-bis").value) $("einblicke-bis").value = data.to;
      const list = (rows, caption) => rows && rows.length
        ? Lotse.table([{ label: "Frage", value: (r) => r.question }, { label: "Anzahl", class: "zahl", value: (r) => String(r.count) }], rows, caption)
        : el("p", { class: "leise" }, caption + ": keine im Zeitraum.");
      replace(box, list(data.top_questions, "Häufigste Fragen"), list(data.unanswered, "Fragen ohne Antwort aus den Quellen"),
        el("p", { class: "leise klein" }, "Personenbezogene Angaben in den Fragen sind unkenntlich gemacht."));
    } catch (err) {
      showMessage(box, "fehler", "Die Auswertung konnte nicht geladen werden: " + errorText(err));
    }
  }
  $("einblicke-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadInsights();
  });

  // ------------------------------------------------------------------ start
  Lotse.init("training").then((me) => {
    loadPaths();
    loadResults();
    if (me && Lotse.hasRole("schulung")) {
      $("trainer").hidden = false;
      loadModelAnswers();
      loadInsights();
      loadAllResults();
    }
  });
})();
