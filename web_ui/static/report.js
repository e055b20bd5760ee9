/* Report page: period and assumptions, key figures, inline SVG bar charts drawn from /api/report,
   tables with the same numbers, links to the CSV export and the printable page. */
(function () {
  "use strict";
  const { el, api, replace, errorText, showMessage, showLoading, announce } = Lotse;
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";
  // bar colours: each at least 3:1 against white (WCAG 1.4.11), told apart by the legend and the tables too
  const COLOURS = {
    answered_not_marked_wrong: "#1d6b2f", answered_marked_wrong: "#6b2c91", fallback: "#8a4b00", refused: "#a4161a",
    letters_drafted: "#5a5f66", letters_filed: "#005a9f", hours_saved: "#005a9f", topics: "#005a9f",
  };

  const fmt = (v, d) => (v === null || v === undefined ? "–" : Lotse.formatNumber(v, d === undefined ? 0 : d));
  const pct = (v) => (v === null || v === undefined ? "–" : Lotse.formatNumber(v, 1) + " %");

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) node.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function niceMax(v) {
    if (!(v > 0)) return 1;
    const mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (v <= step * mag) return step * mag;
    }
    return 10 * mag;
  }

  /**
   * Vertical bar chart of monthly values. series: [{key, label}]; stacked or grouped.
   * Returns a <figure> with an SVG (role img, title and description) and a caption.
   */
  function monthChart(id, title, months, series, opts) {
    opts = opts || {};
    const stacked = opts.stacked !== false;
    const decimals = opts.decimals || 0;
    const W = 760, H = 300, L = 56, R = 12, T = 40, B = 46;
    const pw = W - L - R, ph = H - T - B;
    const count = Math.max(months.length, 1);
    const totals = months.map((m) => stacked ? series.reduce((s, x) => s + (m[x.key] || 0), 0)
      : Math.max(0, ...series.map((x) => m[x.key] || 0)));
    let ymax = niceMax(Math.max(0, ...totals));
    if (!decimals) ymax = Math.max(4, Math.ceil(ymax / 4) * 4);  // whole-number ticks for counts
    const slot = pw / count;
    const barW = stacked ? slot * 0.7 : (slot * 0.8) / series.length;
    const sum = months.reduce((s, m) => s + series.reduce((t, x) => t + (m[x.key] || 0), 0), 0);
    let desc = "Balkendiagramm, " + months.length + " Monate" + (months.length ? " von " + months[0].label + " bis " + months[months.length - 1].label : "") +
      ". Reihen: " + series.map((x) => x.label).join(", ") + ". Summe im Zeitraum: " + fmt(sum, decimals) + " " + opts.unit + ".";
    const peak = totals.indexOf(Math.max(0, ...totals));
    if (months.length && totals[peak] > 0) desc += " Höchster Monatswert: " + months[peak].label + " mit " + fmt(totals[peak], decimals) + " " + opts.unit + ".";
    desc += " Die Zahlen je Monat stehen in der Tabelle „Monatsverlauf“.";

    const root = svg("svg", { id, class: "diagramm", viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": id + "-t " + id + "-d" },
      svg("title", { id: id + "-t" }, title), svg("desc", { id: id + "-d" }, desc));
    let x = L;
    for (const s of series) {
      root.appendChild(svg("rect", { x, y: 8, width: 14, height: 14, fill: COLOURS[s.key] || "#005a9f" }));
      root.appendChild(svg("text", { x: x + 19, y: 19, "font-size": 12 }, s.label));
      x += 34 + 7 * s.label.length;
    }
    for (let i = 0; i <= 4; i++) {
      const v = (ymax * i) / 4;
      const y = T + ph - (ph * i) / 4;
      root.appendChild(svg("line", { x1: L, x2: L + pw, y1: y, y2: y, stroke: "#c8ccd2", "stroke-width": 1 }));
      root.appendChild(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end", "font-size": 12 }, fmt(v, Number.isInteger(v) ? 0 : 2)));
    }
    root.appendChild(svg("text", { x: 12, y: T + ph / 2, "text-anchor": "middle", "font-size": 12,
      transform: "rotate(-90 12 " + (T + ph / 2) + ")" }, opts.unit));
    const every = count <= 18 ? 1 : (count <= 36 ? 2 : 3);
    months.forEach((m, i) => {
      const x0 = L + slot * i;
      if (stacked) {
        let y = T + ph;
        const bx = x0 + (slot - barW) / 2;
        for (const s of series) {
          const h = (ph * (m[s.key] || 0)) / ymax;
          if (h > 0) {
            y -= h;
            root.appendChild(svg("rect", { x: bx, y, width: barW, height: h, fill: COLOURS[s.key] },
              svg("title", null, m.label + ": " + s.label + " " + fmt(m[s.key], decimals))));
          }
        }
        if (count <= 24 && totals[i] > 0) {
          root.appendChild(svg("text", { x: x0 + slot / 2, y: y - 4, "text-anchor": "middle", "font-size": 11 }, fmt(totals[i], decimals)));
        }
      } else {
        series.forEach((s, j) => {
          const v = m[s.key] || 0;
          const h = (ph * v) / ymax;
          const bx = x0 + slot * 0.1 + barW * j;
          if (h > 0) {
            root.appendChild(svg("rect", { x: bx, y: T + ph - h, width: barW, height: h, fill: COLOURS[s.key] },
              svg("title", null, m.label + ": " + s.label + " " + fmt(v, decimals))));
            if (count <= 12) {
              root.appendChild(svg("text", { x: bx + barW / 2, y: T + ph - h - 4, "text-anchor": "middle", "font-size": 10 }, fmt(v, decimals)));
            }
          }
        });
      }
      if (i % every === 0) {
        root.appendChild(svg("text", { x: x0 + slot / 2, y: T + ph + 16, "text-anchor": "middle", "font-size": 11 }, m.short_label || m.label));
      }
    });
    root.appendChild(svg("line", { x1: L, x2: L + pw, y1: T + ph, y2: T + ph, stroke: "#1a1a1a", "stroke-width": 1 }));
    return el("figure", null, el("figcaption", null, title + " (" + opts.unit + ")"), root);
  }

  /** Horizontal bars for the topics (label left, value right). */
  function topicChart(id, topics) {
    const rowH = 26, W = 760, labelW = 330, T = 8;
    const H = T * 2 + rowH * topics.length;
    const max = niceMax(Math.max(0, ...topics.map((t) => t.count)));
    const pw = W - labelW - 60;
    const root = svg("svg", { id, class: "diagramm", viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": id + "-t " + id + "-d" },
      svg("title", { id: id + "-t" }, "Häufigste Themen"),
      svg("desc", { id: id + "-d" }, "Balkendiagramm der häufigsten Themen: " +
        topics.map((t) => t.topic + " " + t.count).join("; ") + "."));
    topics.forEach((t, i) => {
      const y = T + rowH * i;
      const w = (pw * t.count) / max;
      const label = t.topic.length > 48 ? t.topic.slice(0, 47) + "…" : t.topic;
      root.appendChild(svg("text", { x: labelW - 8, y: y + 17, "text-anchor": "end", "font-size": 12 }, label));
      root.appendChild(svg("rect", { x: labelW, y: y + 4, width: Math.max(w, 1), height: rowH - 8, fill: COLOURS.topics },
        svg("title", null, t.topic + ": " + t.count)));
      root.appendChild(svg("text", { x: labelW + w + 6, y: y + 17, "font-size": 12 }, fmt(t.count)));
    });
    return el("figure", null, el("figcaption", null, "Häufigste Themen (Antworten je Thema)"), root);
  }

  function figure(value, name, id) {
    return el("li", null, el("span", { class: "wert", id: id || null }, value), el("span", { class: "name" }, name));
  }

  // ------------------------------------------------------------------ render
  function render(r) {
    const q = r.questions || {}, fb = r.feedback || {}, lt = r.letters || {}, ts = r.time_saved || {};
    const months = r.monthly || [];
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
      monthChart("diagramm-fragen", "Fragen je Monat nach Ergebnis", months, [
        { key: "answered_not_marked_wrong", label: "Beantwortet" },
        { key: "answered_marked_wrong", label: "Als falsch markiert" },
        { key: "refused", label: "Abgelehnt" },
        { key: "fallback", label: "Ersatzverfahren" }], { unit: "Fragen" })));

    const median = lt.median_draft_to_filed_hours === null || lt.median_draft_to_filed_hours === undefined ? "–"
      : fmt(lt.median_draft_to_filed_hours, 1) + " Stunden (" + fmt(lt.median_draft_to_filed_days, 1) + " Tage)";
    parts.push(el("section", { class: "karte", "aria-labelledby": "h-schreiben" }, el("h2", { id: "h-schreiben" }, "Routineschreiben"),
      Lotse.table([{ label: "Arbeitsschritt", value: (x) => x[0] }, { label: "Anzahl", class: "zahl", value: (x) => x[1] }], [
        ["Entwürfe erstellt", fmt(lt.drafted)], ["Zur Prüfung eingereicht", fmt(lt.submitted)], ["Freigegeben", fmt(lt.approved)],
        ["In der E-Akte abgelegt", fmt(lt.filed)], ["Mittlere Dauer vom Entwurf bis zur Ablage (Median)", median]],
      "Schreiben im Zeitraum nach Arbeitsschritt"),
      monthChart("diagramm-schreiben", "Routineschreiben je Monat", months, [
        { key: "letters_drafted", label: "Entwürfe erstellt" }, { key: "letters_filed", label: "In der E-Akte abgelegt" }],
      { unit: "Schreiben", stacked: false })));

    const topics = r.topics || [];
    parts.push(el("section", { class: "karte", "aria-labelledby": "h-themen" }, el("h2", { id: "h-themen" }, "Häufigste Themen"),
      topics.length ? topicChart("diagramm-themen", topics) : el("p", { class: "leise" }, "Im Zeitraum gibt es keine gespeicherten Antworten mit Quellen."),
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
      monthChart("diagramm-zeit", "Geschätzte eingesparte Stunden je Monat", months, [{ key: "hours_saved", label: "Eingesparte Stunden" }],
        { unit: "Stunden", decimals: 1 }),
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
