/* Report page: period and assumptions, key figures, the SVG bar charts drawn by the server (/api/report, charts),
   tables with the same numbers, links to the CSV export and the printable page. */
(function () {
  "use strict";
  const { el, api, replace, errorText, showMessage, showLoading, announce } = Lotse;
  const $ = (id) => document.getElementById(id);
  const fmt = (v, d) => (v === null || v === undefined ? "–" : Lotse.formatNumber(v, d === undefined ? 0 : d));
  const pct = (v) => (v === null || v === undefined ? "–" : Lotse.formatNumber(v, 1) + " %");

  /** A chart as the server drew it (web_ui/report_render.py: the same drawing as on the printable page). */
  function chart(markup) {
    if (!markup) return null;
    const doc = new DOMParser().parseFromString(markup, "text/html");
    return document.importNode(doc.body.firstElementChild, true);
  }

  function figure(value, name, id) {
    return el("li", null, el("span", { class: "wert", id: id || null }, value), el("span", { class: "name" }, name));
  }

  // ------------------------------------------------------------------ render
  function render(r) {
    const q = r.questions || {}, fb = r.feedback || {}, lt = r.letters || {}, ts = r.time_saved || {};
    const months = r.monthly || [];
    const charts = r.charts || {};
    const assumption = (key) => ((r.assumptions || []).find((a) => a.key === key) || {}).value;
    const generated = r.generated_at ? Lotse.formatDateTime(r.generated_at) : "";
    const parts = [
      el("h2", { id: "bericht-zeitraum" }, "Zeitraum: " + ((r.period && r.period.label) || "")),
      el("p", { class: "leise" }, (generated ? "Erstellt am " + generated + " · " : "") + (r.scope || "")),
      el("ul", { class: "kennzahlen", "aria-label": "Kennzahlen" },
        figure(fmt(q.asked), "Gestellte Fragen", "kz-fragen"),
        figure(fmt(q.answered_not_marked_wrong), "Beantwortet, nicht als falsch markiert (" + pct(q.share_answered_not_marked_wrong_pct) + ")", "kz-gut"),
        figure(fmt(q.answered_marked_wrong), "Beantwortet, als falsch markiert (" + pct(q.share_answered_marked_wrong_pct) + ")", "kz-falsch"),
        figure(fmt(q.refused), "Abgelehnt, keine passende Quelle (" + pct(q.share_refused_pct) + ")"),
        figure(fmt(q.fallback), "Im Ersatzverfahren beantwortet (" + pct(q.share_fallback_pct) + ")"),
        figure(pct(fb.share_positive_pct), "Hilfreich bewertet (" + fmt(fb.total) + " Rückmeldungen)"),
        figure(fmt(lt.filed), "Schreiben in der E-Akte abgelegt"),
        figure(fmt(ts.hours_total, 1) + " h", "Geschätzt eingesparte Arbeitszeit (≈ " + fmt(ts.working_days_total, 1) + " Arbeitstage)", "kz-stunden")),
    ];

    parts.push(el("section", { class: "karte", "aria-labelledby": "h-fragen" }, el("h2", { id: "h-fragen" }, "Fragen und Antworten"),
      chart(charts.questions)));

    const median = lt.median_draft_to_filed_hours === null || lt.median_draft_to_filed_hours === undefined ? "–"
      : fmt(lt.median_draft_to_filed_hours, 1) + " Stunden (" + fmt(lt.median_draft_to_filed_days, 1) + " Tage)";
    parts.push(el("section", { class: "karte", "aria-labelledby": "h-schreiben" }, el("h2", { id: "h-schreiben" }, "Routineschreiben"),
      Lotse.table([{ label: "Arbeitsschritt", value: (x) => x[0] }, { label: "Anzahl", class: "zahl", value: (x) => x[1] }], [
        ["Entwürfe erstellt", fmt(lt.drafted)], ["Zur Prüfung eingereicht", fmt(lt.submitted)], ["Freigegeben", fmt(lt.approved)],
        ["In der E-Akte abgelegt", fmt(lt.filed)], ["Mittlere Dauer vom Entwurf bis zur Ablage (Median)", median]],
      "Schreiben im Zeitraum nach Arbeitsschritt"),
      chart(charts.letters)));

    const topics = r.topics || [];
    parts.push(el("section", { class: "karte", "aria-labelledby": "h-themen" }, el("h2", { id: "h-themen" }, "Häufigste Themen"),
      topics.length ? chart(charts.topics) : el("p", { class: "leise" }, "Im Zeitraum gibt es keine gespeicherten Antworten mit Quellen."),
      topics.length ? Lotse.table([
        { label: "Rang", class: "zahl", value: (t) => String(t.rank) },
        { label: "Thema", value: (t) => t.topic },
        { label: "Antworten", class: "zahl", value: (t) => fmt(t.count) }],
      topics.concat(r.topics_other ? [{ rank: "", topic: "Weitere Themen", count: r.topics_other }] : []),
      "Themen nach Titel des zuerst zitierten Dokuments je Antwort") : null));

    parts.push(el("section", { class: "karte", "aria-labelledby": "h-zeit" }, el("h2", { id: "h-zeit" }, "Geschätzte eingesparte Arbeitszeit"),
      Lotse.table([
        { label: "Posten", value: (x) => x[0] }, { label: "Anzahl", class: "zahl", value: (x) => x[1] },
        { label: "Minuten je Vorgang", class: "zahl", value: (x) => x[2] }, { label: "Stunden", class: "zahl", value: (x) => x[3] }], [
        ["Beantwortete, nicht als falsch markierte Fragen", fmt(ts.answers), fmt(assumption("minutes_per_answer"), 1), fmt((ts.minutes_answers || 0) / 60, 1)],
        ["In der E-Akte abgelegte Schreiben", fmt(ts.letters), fmt(assumption("minutes_per_letter"), 1), fmt((ts.minutes_letters || 0) / 60, 1)],
        ["Summe", "", "", fmt(ts.hours_total, 1)]], "Schätzung der eingesparten Arbeitszeit"),
      el("p", { class: "annahme", id: "annahme-zeit" }, el("strong", null, "Annahme: "), (ts.basis || "") + "."),
      chart(charts.saved),
      Lotse.table([
        { label: "Annahme", value: (a) => a.label }, { label: "Wert", class: "zahl", value: (a) => fmt(a.value, 1) + " " + (a.unit || "") },
        { label: "Erläuterung", value: (a) => (a.explanation || "") + (a.default !== undefined ? " (Standardwert: " + fmt(a.default, 1) + " " + (a.unit || "") + ")" : "") }],
      r.assumptions || [], "Annahmen der Schätzung")));

    // two tables of six columns instead of one of eleven: they fit at 1280 px without scrolling
    const monat = { label: "Monat", class: "monat", value: (m) => m.label };
    parts.push(el("section", { class: "karte", "aria-labelledby": "h-monate" }, el("h2", { id: "h-monate" }, "Monatsverlauf"),
      Lotse.table([monat,
        { label: "Fragen", class: "zahl", value: (m) => fmt(m.questions) },
        { label: "Beantwortet", class: "zahl", value: (m) => fmt(m.answered_not_marked_wrong) },
        { label: "Als falsch markiert", class: "zahl", value: (m) => fmt(m.answered_marked_wrong) },
        { label: "Abgelehnt", class: "zahl", value: (m) => fmt(m.refused) },
        { label: "Ersatzverfahren", class: "zahl", value: (m) => fmt(m.fallback) }], months, "Fragen je Monat nach Ergebnis"),
      Lotse.table([monat,
        { label: "Schreiben erstellt", class: "zahl", value: (m) => fmt(m.letters_drafted) },
        { label: "Schreiben abgelegt", class: "zahl", value: (m) => fmt(m.letters_filed) },
        { label: "Hilfreich", class: "zahl", value: (m) => fmt(m.feedback_up) },
        { label: "Nicht hilfreich", class: "zahl", value: (m) => fmt(m.feedback_down) },
        { label: "Eingesparte Stunden", class: "zahl", value: (m) => fmt(m.hours_saved, 1) }], months,
      "Schreiben, Rückmeldungen und eingesparte Zeit je Monat")));

    if (r.notes && r.notes.length) {
      parts.push(el("section", { class: "karte", "aria-labelledby": "h-hinweise" }, el("h2", { id: "h-hinweise" }, "Hinweise zu den Zahlen"),
        el("ul", null, r.notes.map((n) => el("li", null, n)))));
    }
    replace($("bericht"), parts);
  }

  // ------------------------------------------------------------------ load
  function params() {
    return {
      from: $("bericht-von").value, to: $("bericht-bis").value,
      minutes_per_answer: $("minuten-antwort").value, minutes_per_letter: $("minuten-schreiben").value,
    };
  }

  function setLinks(p) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(p)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    $("csv-link").href = "/api/report.csv" + (s ? "?" + s : "");
    $("druck-link").href = "/bericht/druck" + (s ? "?" + s : "");
  }

  async function load(first) {
    const p = params();
    showLoading($("bericht"), "Bericht wird erstellt …");
    try {
      const r = await api("/api/report", { query: p });
      if (first) {
        if (r.period) {
          $("bericht-von").value = r.period.from;
          $("bericht-bis").value = r.period.to;
        }
        for (const a of r.assumptions || []) {
          if (a.key === "minutes_per_answer") $("minuten-antwort").value = a.value;
          if (a.key === "minutes_per_letter") $("minuten-schreiben").value = a.value;
        }
      }
      setLinks(params());
      render(r);
      if (!first) announce("Bericht aktualisiert.");
    } catch (err) {
      showMessage($("bericht"), "fehler", "Der Bericht konnte nicht erstellt werden: " + errorText(err));
    }
  }

  $("berichtform").addEventListener("submit", (e) => {
    e.preventDefault();
    load(false);
  });

  Lotse.init("report", ["administration", "schulung"]).then((me) => {
    if (me) load(true);
  });
})();
