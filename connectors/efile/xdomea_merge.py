"""Merging the packages of an XDOMEA directory into one snapshot, in message order: the same Akte
in several packages becomes one (newer metadata, documents with files and newer versions win), with a
German note per merge."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from .protocol import DocumentRef, Procedure, ProcedureRef
from .xdomea_model import PackageProblem, _CaseEntry, _Doc, _Package, _Snapshot


def _combine(listing: tuple[tuple[str, int, int], ...], packages: Iterable[_Package]) -> _Snapshot:
    """Merge the packages in message order (:attr:`_Package.order_key`).

    The same Akte (same ID) in several packages is merged: its metadata and each Vorgang's metadata
    come from the latest message holding it; Vorgänge and Dokumente are united by ID; of the same
    Dokument the copy with files beats a metadata-only one (0501), then the higher version number,
    then the later message. Each merge is reported for the later package (German note, kind
    ``merge``). A Vorgang or Dokument ID that already belongs to *another* Akte refuses the later
    Akte (warning)."""
    packages = tuple(packages)
    ordered = sorted(packages, key=lambda p: p.order_key)
    problems: list[PackageProblem] = []
    for pkg in packages:
        problems.extend(pkg.problems)
    occurrences: dict[str, list[tuple[_CaseEntry, _Package]]] = {}
    owner: dict[str, tuple[str, str]] = {}  # Vorgang/Dokument id -> (Akte id, package name)
    for pkg in ordered:
        for entry in pkg.cases:
            case = entry.case
            ids = [p.coo for p in case.procedures]
            ids += [d.coo for p in case.procedures for d in pkg.procedures[p.coo].documents]
            taken = next((i for i in ids if i in owner and owner[i][0] != case.coo), None)
            if taken is not None:
                problems.append(PackageProblem(
                    pkg.name, f"Akte {case.coo}: die ID {taken} gehört bereits zu einem anderen Objekt im Paket "
                              f"„{owner[taken][1]}“; diese Akte wird aus dem späteren Paket nicht übernommen.", False))
                continue
            for i in ids:
                owner.setdefault(i, (case.coo, pkg.name))
            occurrences.setdefault(case.coo, []).append((entry, pkg))
    cases: dict[str, tuple[_CaseEntry, _Package]] = {}
    procedures: dict[str, Procedure] = {}
    documents: dict[str, tuple[_Doc, _Package]] = {}
    for coo, occ in occurrences.items():
        if len(occ) == 1:
            entry, pkg = occ[0]
            cases[coo] = (entry, pkg)
            for ref in entry.case.procedures:
                proc = pkg.procedures[ref.coo]
                procedures[proc.coo] = proc
                for d in proc.documents:
                    documents[d.coo] = (pkg.documents[d.coo], pkg)
            continue
        entry, pkg, procs, docs, notes = _merge_akte(occ)
        cases[coo] = (entry, pkg)
        procedures.update({p.coo: p for p in procs})
        documents.update(docs)
        problems.extend(notes)
    order = tuple(c for c in (e.case.coo for p in ordered for e in p.cases) if c in cases)
    order = tuple(dict.fromkeys(order))
    return _Snapshot(listing, packages, cases, order, procedures, documents, tuple(problems))


def _merge_akte(occ: list[tuple[_CaseEntry, _Package]]):
    """One Akte from several packages (in message order); see :func:`_combine` for the rule."""
    proc_meta: dict[str, Procedure] = {}
    chosen: dict[str, tuple[tuple[bool, int, int], _Doc, _Package]] = {}
    doc_proc: dict[str, str] = {}
    notes: list[PackageProblem] = []
    for idx, (entry, pkg) in enumerate(occ):
        stats = {"content": 0, "newer": 0, "new": 0, "kept": 0, "same": 0}
        for ref in entry.case.procedures:
            proc = pkg.procedures[ref.coo]
            proc_meta[proc.coo] = proc  # later message: newer metadata (insertion order kept)
            for d in proc.documents:
                doc = pkg.documents[d.coo]
                rank = (doc.has_content, doc.version, idx)
                prev = chosen.get(d.coo)
                doc_proc[d.coo] = proc.coo
                if prev is None:
                    chosen[d.coo] = (rank, doc, pkg)
                    stats["new"] += idx > 0
                    continue
                if rank[:2] < prev[0][:2]:
                    stats["kept"] += 1
                    continue
                if doc.has_content and not prev[1].has_content:
                    stats["content"] += 1
                elif rank[1] > prev[0][1]:
                    stats["newer"] += 1
                else:
                    stats["same"] += 1
                chosen[d.coo] = (rank, doc, pkg)
        if idx == 0:
            continue
        earlier = ", ".join(p.label for _, p in occ[:idx])
        parts = []
        if stats["content"]:
            parts.append(f"{stats['content']} Dokumente mit Dateien ersetzen Einträge ohne Dateien")
        if stats["newer"]:
            parts.append(f"{stats['newer']} Dokumente in neuerer Version ersetzen die ältere")
        if stats["new"]:
            parts.append(f"{stats['new']} Dokumente kommen hinzu")
        if stats["same"]:
            parts.append(f"{stats['same']} Dokumente unverändert übernommen")
        if stats["kept"]:
            parts.append(f"{stats['kept']} Dokumente bleiben aus dem früheren Paket, weil sie dort Dateien "
                         "bzw. eine neuere Version haben")
        detail = "; ".join(parts) if parts else "keine Dokumente"
        notes.append(PackageProblem(
            pkg.name, f"Akte {entry.case.coo} ist auch im früheren Paket {earlier} enthalten und wurde "
                      f"zusammengeführt (Metadaten aus der späteren Nachricht): {detail}.", False, kind="merge"))
    last_entry, last_pkg = occ[-1]
    by_proc: dict[str, list[DocumentRef]] = {p: [] for p in proc_meta}
    docs: dict[str, tuple[_Doc, _Package]] = {}
    for doc_id, (_, doc, pkg) in chosen.items():
        by_proc[doc_proc[doc_id]].append(doc.ref)
        docs[doc_id] = (doc, pkg)
    procs = [replace(p, documents=tuple(by_proc[p.coo])) for p in proc_meta.values()]
    case = replace(last_entry.case, procedures=tuple(ProcedureRef(p.coo, p.name or p.title) for p in procs))
    return _CaseEntry(case, last_entry.aplan), last_pkg, procs, docs, notes
